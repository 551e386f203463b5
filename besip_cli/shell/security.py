"""`show security blocked` and `clear security blocked ADDRESS|all`: the IPS's bans, asked
of the BESIP daemon over its control socket (the daemon owns the kernel table)."""

import ipaddress
import time

from ..daemon.control import ControlError, request  # noqa: F401 (ControlError: for callers)
from ..services.settings import Settings

SHOW = {"blocked": "Sources the IPS drops now: why, since when, for how long"}
CLEAR = {"security": "The IPS's bans"}
FORMAT = "%-39s %-26s %-9s %-7s %5s %8s"


def show(tk, directory):
    """Lines of `show security blocked`."""
    tk.keyword(SHOW)
    tk.end()
    rows = _ask(directory, "ips.blocked")
    lines = [FORMAT % ("ADDRESS", "REASON", "SINCE", "LEFT", "HITS", "DROPPED")]
    lines += [FORMAT % (r["address"], r["reason"], time.strftime("%H:%M:%S", time.localtime(r["since"])),
                        duration(r["left"]), r["hits"], r["dropped"]) for r in rows]
    return lines


def clear(tk, directory):
    """Lines of `clear security blocked ADDRESS|all`."""
    tk.keyword(CLEAR)
    tk.keyword({"blocked": "Unban sources"})
    address = tk.value("<A.B.C.D|X:X::X|all>", "The source to unban, or all", check=_address,
                       options=[("all", "Every banned source")])
    tk.end()
    return ["%d source(s) unblocked." % _ask(directory, "ips.clear", address=address)]


def _address(text):
    if text == "all":
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError("an IPv4 or IPv6 address, or all, is expected")


def _ask(directory, command, **args):
    return request(Settings(directory), command, **args)


def duration(seconds):
    """9m41s, 1h2m, 3d4h: the two largest units."""
    seconds = max(0, int(seconds))
    for unit, size, sub, subsize in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if seconds >= size:
            return "%d%s%d%s" % (seconds // size, unit, seconds % size // subsize, sub)
    return "%ds" % seconds
