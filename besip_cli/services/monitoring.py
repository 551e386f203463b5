"""Speech-quality monitoring's configuration for the BESIP daemon: the voice-quality
component reads /etc/besip/voice-quality.json (the `monitoring voice-quality` subtree,
defaults filled in) on the reload command that follows the commit, and reports the newest
rated calls as `config false` state."""

import datetime
import json
from collections.abc import Mapping

from ..daemon.control import ControlError, request
from .errors import ServiceError
from .install import File

NAME = "monitoring"
SUBTREES = ("monitoring",)
AFTER = ()
STATE_ROOT = "monitoring"
POLICY = "/etc/besip/voice-quality.json"
RECENT = 20                 # calls of the state data
ARROWS = {"->": "to-callee", "<-": "to-caller"}


def verify(tx):
    """Nothing YANG does not check already (the port range's order is a `must`)."""


def generate(tx):
    vq = _plain(tx.new["monitoring"]["voice-quality"])
    return {POLICY: File((json.dumps(vq, indent=1, sort_keys=True) + "\n").encode())}


def _plain(tree):
    """TREE (lists filled in lazily) as plain dicts and lists."""
    if isinstance(tree, Mapping):
        return {k: _plain(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_plain(v) for v in tree]
    return tree


def state(settings):
    """State hook: the newest rated calls, asked of the BESIP daemon."""
    try:
        calls = request(settings, "voice-quality.calls", last=RECENT)
    except ControlError as exc:
        raise ServiceError(str(exc))
    return {"monitoring": {"voice-quality": {"recent": {"call": {
        str(c["id"]): _call(c) for c in calls}}}}}


def _call(c):
    return {"id": str(c["id"]), "time": _stamp(c["start"]), "caller": c["caller"], "callee": c["callee"],
            "call-id": c["call_id"] or "", "direction": {ARROWS[d["direction"]]: _direction(d) for d in c["directions"]}}


def _direction(d):
    out = {"name": ARROWS[d["direction"]], "codec": d["codec"], "packets": str(d["received"]),
           "lost": str(d["lost"]), "loss": "%.2f" % d["loss"], "burst-ratio": "%.2f" % d["burst_ratio"],
           "jitter": "%.2f" % d["jitter"], "delay": "%.1f" % d["delay"]}
    if d["rated"]:
        out.update({"r": "%.2f" % d["r"], "mos": "%.2f" % d["mos"]})
    return out


def _stamp(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
