"""`show security blocked|events` and `clear security blocked ADDRESS|all`: the IPS's bans
and history, asked of the BESIP daemon over its control socket (the daemon owns the
kernel table)."""

import ipaddress
import time

from ..daemon.control import ControlError, request  # noqa: F401 (ControlError: for callers)
from ..services.settings import Settings
from ..visible import visible

SHOW = {"blocked": "Sources the IPS drops now: why, since when, for how long",
        "events": "The IPS's history: bans, unbans, reports of allow-listed sources"}
EVENTS_SHOWN = 100              # the default of `last N`; at most MAX_EVENTS
MAX_EVENTS = 1000
CLEAR = {"security": "The IPS's bans"}
FORMAT = "%-39s %-26s %-9s %-7s %5s %8s"


def show(tk, directory):
    """Lines of `show security blocked` or `show security events [last N]`."""
    if tk.keyword(SHOW) == "events":
        return _events(tk, directory)
    tk.end()
    rows = _ask(directory, "ips.blocked")
    lines = [FORMAT % ("ADDRESS", "REASON", "SINCE", "LEFT", "HITS", "DROPPED")]
    lines += [FORMAT % (r["address"], r["reason"], time.strftime("%H:%M:%S", time.localtime(r["since"])),
                        duration(r["left"]), r["hits"], r["dropped"]) for r in rows]
    return lines


def _events(tk, directory):
    limit = EVENTS_SHOWN
    if tk.keyword({"last": "Only the newest N events"}, optional=True, cr=True):
        limit = int(tk.value("<1-%d>" % MAX_EVENTS, "How many events", check=_count))
    tk.end()
    rows = _ask(directory, "ips.events", limit=limit)
    return ["%-19s %-39s %-7s %s" % ("TIME", "ADDRESS", "EVENT", "REASON")] + [
        "%-19s %-39s %-7s %s" % (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["at"])),
                                 r["address"], r["event"], visible(r["reason"])) for r in rows]


def _count(text):
    if not text.isdigit() or not 1 <= int(text) <= MAX_EVENTS:
        raise ValueError("a number from 1 to %d is expected" % MAX_EVENTS)
    return text


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
