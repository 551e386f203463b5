"""Operational state of the running PBX, read from Kamailio's JSON-RPC (jsonrpcs over a
unix datagram socket): the YANG `config false` trees pbx/registrations and pbx/calls."""

import datetime
import time

from .errors import ServiceError
from .kamailio_rpc import contacts, rpc

DIALOG_STATES = {1: "ringing", 2: "ringing", 3: "answered", 4: "answered"}


def _host(uri):
    """The host of a SIP URI or address (brackets of IPv6 removed)."""
    rest = uri.split(":", 1)[1] if uri.startswith("sip:") else uri
    rest = rest.split("@", 1)[-1].split(";", 1)[0]
    if rest.startswith("["):
        return rest[1:rest.index("]")]
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest


def registrations(settings):
    """pbx/registrations/registration entries keyed (extension, contact)."""
    out = {}
    for aor, c in contacts(settings):
        received = c.get("Received", "")
        source = _host(received if received.startswith("sip:") else c.get("Address", ""))
        entry = {"extension": aor, "contact": c.get("Address", ""),
                 "expires": str(max(0, int(c.get("Expires", 0))))}
        if c.get("User-Agent") not in (None, "", "n/a"):      # n/a: Kamailio for "none"
            entry["user-agent"] = c["User-Agent"]
        if source:
            entry["source-address"] = source
        out[(entry["extension"], entry["contact"])] = entry
    return out


def calls(settings):
    """pbx/calls/call entries keyed by Call-ID."""
    out = {}
    now = time.time()
    for dialog in rpc(settings, "dlg.list") or []:
        state = DIALOG_STATES.get(dialog.get("state"))
        if state is None:
            continue
        start = dialog.get("start_ts") or dialog.get("init_ts") or now
        entry = {"call-id": dialog.get("call-id", ""), "caller": dialog.get("from_uri", ""),
                 "callee": dialog.get("to_uri", ""), "state": state,
                 "start-time": datetime.datetime.fromtimestamp(start, datetime.timezone.utc)
                 .strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "duration": str(max(0, int(now - start)))}
        out[entry["call-id"]] = entry
    return out


def pbx_state(settings):
    """The `config false` data under /pbx: {'registrations': ..., 'calls': ...}."""
    return {"registrations": {"registration": registrations(settings)},
            "calls": {"call": calls(settings)}}


def show(pbx, what):
    """Lines of `show pbx registrations` or `show pbx calls` from the state tree PBX."""
    if what == "registrations":
        rows = sorted(pbx["registrations"]["registration"].values(), key=lambda e: (e["extension"], e["contact"]))
        lines = ["%-10s %-40s %-18s %-8s %s" % ("Extension", "Contact", "Source", "Expires", "User agent")]
        lines += ["%-10s %-40s %-18s %-8s %s" % (e["extension"], e["contact"], e.get("source-address", "-"),
                                                 e["expires"], e.get("user-agent", "-")) for e in rows]
        lines.append("%d registered contact(s)." % len(rows))
    else:
        rows = sorted(pbx["calls"]["call"].values(), key=lambda e: e["start-time"])
        lines = ["%-30s %-30s %-10s %-8s %s" % ("Caller", "Callee", "State", "Seconds", "Call-ID")]
        lines += ["%-30s %-30s %-10s %-8s %s" % (e["caller"], e["callee"], e["state"], e["duration"],
                                                 e["call-id"]) for e in rows]
        lines.append("%d call(s) in progress." % len(rows))
    return lines
