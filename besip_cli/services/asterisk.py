"""Asterisk (chan_pjsip): pjsip.conf, extensions.conf, voicemail.conf, rtp.conf.

In pbx mode the phones register to Asterisk (one endpoint/aor/auth per extension); in
proxy-pbx mode they register to Kamailio, and Asterisk serves PBX features on its own port,
which Kamailio reaches on loopback, reaching phones through the Kamailio endpoint. That
port is bound on every IPv4 address, so that a trunk call carries the address the
provider can reach (Asterisk chooses it per destination), not loopback.
"""

import hashlib

from . import dialplan, listen, shards
from .errors import ServiceError
from .install import File
from .render import render

NAME = "asterisk"
SUBTREES = ("pbx",)
AFTER = ()
ASTERISK_ADDRESS = "127.0.0.1"     # where Kamailio reaches Asterisk
ASTERISK_BIND = "0.0.0.0"          # what Asterisk binds (trunks reach it on the network)
ASTERISK_PORT = 5080
FILES = ("pjsip.conf", "extensions.conf", "voicemail.conf", "rtp.conf", "features.conf")
# Asterisk's format names of the model's codecs where they differ (G.711).
FORMATS = {"pcmu": "ulaw", "pcma": "alaw"}
DEFAULT_CODECS = {"extension": ["pcma", "pcmu", "g722"], "trunk": ["pcma", "pcmu"]}


def formats(codecs, kind):
    """The allow= list of CODECS (the KIND's default when empty), in Asterisk's names."""
    return ",".join(FORMATS.get(c, c) for c in codecs or DEFAULT_CODECS[kind])


# Per-extension parts, one file per shard: template -> path (with the shard's name).
SHARD_FILES = {"pjsip-extensions.conf": "pjsip.d/extensions-%s.conf",
               "extensions-globals.conf": "extensions.d/globals-%s.conf",
               "extensions-local.conf": "extensions.d/local-%s.conf",
               "voicemail-mailboxes.conf": "voicemail.d/mailboxes-%s.conf"}
SECRET_FILES = ("pjsip.conf", "voicemail.conf", "pjsip-extensions.conf", "voicemail-mailboxes.conf")


def verify(tx):
    pbx = tx.new["pbx"]
    if pbx["mode"] == "proxy":
        return
    if pbx["mode"] == "pbx":
        listen.verify(pbx["sip"]["listen"])
    dialplan.verify(pbx)


def mailbox_pin(number, ext):
    """The voicemail PIN; without one, 12 digits nobody knows (the box only records)."""
    pin = ext["voicemail"].get("pin")
    if pin:
        return pin
    digest = hashlib.sha256(("%s:%s" % (number, ext["secret"])).encode()).hexdigest()
    return str(int(digest, 16))[-12:]


def kamailio_port(pbx):
    """Where Asterisk reaches Kamailio in proxy-pbx mode: its first UDP listen."""
    for address, port, transport in pbx["sip"]["listen"]:
        if transport == "udp":
            return port
    return "5060"


def generate(tx):
    """The main files every time (they are small), the shards of changed extensions only."""
    pbx = tx.new["pbx"]
    if pbx["mode"] == "proxy":
        return {"/etc/asterisk/" + path: None for path in FILES + tuple(
            shape % name for shape in SHARD_FILES.values() for name in shards.NAMES)}
    routes = dialplan.routes(pbx)
    for route in routes:
        route["exten"] = dialplan.asterisk(route["pattern"])
    values = dict(pbx=pbx, routes=routes, proxy=pbx["mode"] == "proxy-pbx",
                  internal=(ASTERISK_BIND, ASTERISK_PORT), kamailio_port=kamailio_port(pbx),
                  trunks={n: t for n, t in pbx["trunk"].items() if t["enabled"] == "true"},
                  listens=pbx["sip"]["listen"] or [("0.0.0.0", "5060", "udp")], shards=shards.NAMES,
                  formats=formats)
    user = tx.settings.of(NAME, "user")
    out = {"/etc/asterisk/" + name: File(render("asterisk/" + name, **values),
                                         secret=name in SECRET_FILES, user=user) for name in FILES}
    for name, entries in shards.members(pbx["extension"], shards.touched(tx)).items():
        part = dict(values, enabled={n: e for n, e in entries.items() if e["enabled"] == "true"},
                    pins={n: mailbox_pin(n, e) for n, e in entries.items() if "voicemail" in e})
        for template, shape in SHARD_FILES.items():
            out["/etc/asterisk/" + shape % name] = File(render("asterisk/" + template, **part),
                                                        secret=template in SECRET_FILES, user=user)
    return out
