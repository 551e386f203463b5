"""Kamailio: kamailio.cfg plus a SQLite subscriber table (auth_db) with digest HA1s.

The subscriber table (not the cfg) carries the secrets, as HA1 hashes only, in a file
readable by Kamailio's user alone; the cfg holds listens, routes and trunks. Kamailio
cannot re-read its cfg, so the reload command restarts it (OpenWrt: init.d restart);
the registrations are read over RPC before the restart and added back after it, so
phones stay reachable without a location database on flash.
"""

import hashlib
import ipaddress
import os
import sqlite3

from . import dialplan, ips, listen, shards, state as pbx_state
from .errors import ServiceError
from .asterisk import ASTERISK_ADDRESS, ASTERISK_PORT
from .install import File, Rows
from .kamailio_rpc import contacts, rpc, rpc_socket
from .listen import listens
from .render import render

NAME = "kamailio"
SUBTREES = ("pbx", "security")
AFTER = ("asterisk",)          # in proxy-pbx mode Kamailio forwards to a ready Asterisk
CFG = "/etc/kamailio/kamailio.cfg"
DB = "/etc/kamailio/besip.sqlite"
SCHEMA = """
CREATE TABLE version (id INTEGER PRIMARY KEY NOT NULL, table_name VARCHAR(32) NOT NULL,
  table_version INTEGER DEFAULT 0 NOT NULL, CONSTRAINT version_table_name_idx UNIQUE (table_name));
INSERT INTO version (table_name, table_version) VALUES ('subscriber', 7);
CREATE TABLE subscriber (id INTEGER PRIMARY KEY NOT NULL, username VARCHAR(64) DEFAULT '' NOT NULL,
  domain VARCHAR(64) DEFAULT '' NOT NULL, password VARCHAR(64) DEFAULT '' NOT NULL,
  ha1 VARCHAR(128) DEFAULT '' NOT NULL, ha1b VARCHAR(128) DEFAULT '' NOT NULL,
  voicemail INTEGER DEFAULT 0 NOT NULL, recording INTEGER DEFAULT 0 NOT NULL,
  CONSTRAINT subscriber_account_idx UNIQUE (username, domain));
"""


def before_reload(tx):
    """The contacts of the running Kamailio (none if it is not running)."""
    try:
        return contacts(tx.settings)
    except ServiceError:
        return []


def after_reload(tx, saved_contacts, config):
    """Give the restarted Kamailio back the contacts of the extensions still enabled in
    CONFIG, the configuration it now runs (the old one after a refused commit)."""
    extensions = config["pbx"]["extension"]
    for aor, c in saved_contacts:
        ext = extensions.get(aor)
        expires = int(c.get("Expires", 0))
        if ext is None or ext["enabled"] != "true" or expires <= 0:
            continue
        # the NAT address the phone is reached at (received) and the socket it came in on
        path, received, sock = (_set(c.get(k)) for k in ("Path", "Received", "Socket"))
        rpc(tx.settings, "ul.add", "location", aor, c["Address"], expires, float(c.get("Q", -1)),
            path, int(c.get("Flags", 0)), int(c.get("CFlags", 0)), int(c.get("Methods", -1)),
            received, sock)


def _set(value):
    """A ul.dump field as ul.add takes it ('0': not set)."""
    return "0" if value in (None, "", "[not set]") else value


STATE_ROOT = "pbx"             # the top-level node of the state hook's data


def state(settings):
    """State hook: the `config false` registrations and calls of the running Kamailio."""
    return {"pbx": pbx_state.pbx_state(settings)}


def socket(address, port, transport):
    """Kamailio's socket syntax: proto:addr:port, IPv6 in brackets."""
    if ipaddress.ip_address(address).version == 6:
        address = "[%s]" % address
    return "%s:%s:%s" % (transport, address, port)


def uri_host(host):
    return "[%s]" % host if ":" in host else host


def verify(tx):
    pbx = tx.new["pbx"]
    if pbx["mode"] == "pbx":
        return
    listen.verify(listens(pbx))
    if pbx["mode"] == "proxy-pbx":
        for address, port, transport in listens(pbx):
            if port == str(ASTERISK_PORT) and (":" not in address or address == "::"):
                raise ServiceError("pbx sip listen %s %s %s: port %d is Asterisk's on every IPv4 "
                                   "address in proxy-pbx mode" % (address, port, transport,
                                                                  ASTERISK_PORT))
    dialplan.verify(pbx)


def subscriber(number, ext, realm):
    """The subscriber row of an extension (None: it may not register), HA1s only."""
    if ext is None or ext["enabled"] != "true":
        return None
    ha1 = hashlib.md5(("%s:%s:%s" % (number, realm, ext["secret"])).encode()).hexdigest()
    ha1b = hashlib.md5(("%s@%s:%s:%s" % (number, realm, realm, ext["secret"])).encode()).hexdigest()
    return {"username": number, "domain": realm, "ha1": ha1, "ha1b": ha1b,
            "voicemail": int("voicemail" in ext), "recording": int(ext["recording"] != "never")}


def subscribers(pbx):
    """The SQLite subscriber database (bytes): enabled extensions only."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    rows = [subscriber(n, e, pbx["domain"]) for n, e in pbx["extension"].items()]
    conn.executemany("INSERT INTO subscriber (username, domain, ha1, ha1b, voicemail, recording) "
                     "VALUES (:username, :domain, :ha1, :ha1b, :voicemail, :recording)",
                     [r for r in rows if r is not None])
    conn.commit()
    data = conn.serialize()
    conn.close()
    return bytes(data)


def subscriber_file(tx):
    """The whole subscriber table, or only the rows of the changed extensions when the
    table exists and nothing else it depends on (the realm) changed."""
    pbx = tx.new["pbx"]
    keys = shards.changed_entries(tx)
    if keys is None or not os.path.exists(tx.settings.path(DB)):
        return File(subscribers(pbx), secret=True, user=tx.settings.of(NAME, "user"))
    entries = pbx["extension"]
    return Rows("subscriber", ("username", "domain"),
                {(n, pbx["domain"]): subscriber(n, entries.get(n), pbx["domain"]) for n in keys})


def generate(tx):
    pbx = tx.new["pbx"]
    if pbx["mode"] == "pbx":
        return {CFG: None, DB: None}
    settings = tx.settings
    routes = dialplan.routes(pbx)
    for route in routes:
        route["regex"] = dialplan.regex(route["pattern"])
        trunk = route["trunk_entry"]
        if trunk:
            route["dst"] = "sip:%s:%s;transport=%s" % (uri_host(trunk["host"]), trunk["port"],
                                                      trunk["transport"])
    cfg = render("kamailio/kamailio.cfg", pbx=pbx, user_agent=pbx["sip"]["user-agent"],
                 listens=[socket(*key) for key in listens(pbx)], routes=routes,
                 db_url="sqlite:///" + settings.path(DB), db_path=settings.path(DB),
                 ctl_socket="unix:" + settings.runtime(NAME) + "/kamailio_ctl",
                 rpc_socket=rpc_socket(settings),
                 proxy_pbx=pbx["mode"] == "proxy-pbx",
                 asterisk="sip:%s:%d" % (ASTERISK_ADDRESS, ASTERISK_PORT),
                 asterisk_address=ASTERISK_ADDRESS, asterisk_port=ASTERISK_PORT,
                 ips=ips.kamailio_values(tx))
    return {CFG: File(cfg), DB: subscriber_file(tx)}
