"""Audit events to the system log: one datagram per event on the local syslog socket, in
the form glibc's syslog(3) sends (`<PRI>Mmm dd hh:mm:ss besip[PID]: message`).

Python's syslog module always writes to /dev/log; this writer sends the same datagram to
the socket named by $BESIP_SYSLOG (default /dev/log; empty: no syslog), so a test can bind
its own socket. Sending never fails and waits at most SEND_TIMEOUT for a syslog daemon
that is behind: a missing socket, or one still full after that, drops the datagram."""

import os
import socket
import time

DEFAULT = "/dev/log"
IDENT = "besip"
SEND_TIMEOUT = 0.05           # seconds
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def send(priority, message):
    """Send MESSAGE with PRIORITY (facility | severity); False if it was dropped."""
    path = os.environ.get("BESIP_SYSLOG", DEFAULT)
    if not path:
        return False
    now = time.localtime()
    datagram = "<%d>%s %2d %s %s[%d]: %s" % (priority, _MONTHS[now.tm_mon - 1], now.tm_mday,
                                             time.strftime("%H:%M:%S", now), IDENT,
                                             os.getpid(), message)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(SEND_TIMEOUT)
            sock.sendto(datagram.encode("utf-8"), path)
    except OSError:
        return False
    return True
