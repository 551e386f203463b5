"""/etc/config/system: host name, time zone, NTP and syslog (OpenWrt UCI)."""

import os

from .install import File
from .render import render

NAME = "uci_system"
SUBTREES = ("system",)
AFTER = ()
ZONEINFO = "/usr/share/zoneinfo"


def posix_tz(zone):
    """The POSIX TZ string OpenWrt needs (last line of the TZif file), or UTC0."""
    try:
        with open(os.path.join(ZONEINFO, zone), "rb") as f:
            tail = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii")
        return tail if tail and "\x00" not in tail else "UTC0"
    except (OSError, UnicodeDecodeError):
        return "UTC0"


def verify(tx):
    """Nothing beyond YANG: an unknown zone falls back to UTC in the POSIX string."""


def generate(tx):
    system = tx.new["system"]
    return {"/etc/config/system": File(render("uci/system", system=system,
                                              tz=posix_tz(system["timezone"])))}
