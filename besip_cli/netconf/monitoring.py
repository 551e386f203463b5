"""What a client reads about the server: capabilities, ietf-netconf-monitoring (RFC 6022)
state, the YANG library (RFC 7895 modules-state) and get-schema."""

import hashlib
import os
import re
import time
import xml.etree.ElementTree as ET

from .errors import RpcError

MON_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
YANGLIB_NS = "urn:ietf:params:xml:ns:yang:ietf-yang-library"

BASE_CAPABILITIES = [
    "urn:ietf:params:netconf:base:1.0",
    "urn:ietf:params:netconf:base:1.1",
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
    "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
    "urn:ietf:params:netconf:capability:validate:1.0",
    "urn:ietf:params:netconf:capability:validate:1.1",
    "urn:ietf:params:netconf:capability:xpath:1.0",
    "urn:ietf:params:netconf:capability:notification:1.0",
    "urn:ietf:params:netconf:capability:interleave:1.0",
    "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit&also-supported=report-all,trim",
    "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring?module=ietf-netconf-monitoring&revision=2010-10-04",
]


def modules(session, imported=True):
    """[(name, revision, namespace, conformance)] of the modules we serve."""
    out = [(m["name"], m["revision"], m["namespace"], "implement") for m in session.schema.modules]
    for name in _imported(session) if imported else ():
        text = _source(session, name)
        ns = re.search(r'namespace\s+"([^"]+)"', text).group(1)
        rev = re.search(r"revision\s+\"?([0-9-]{10})", text).group(1)
        out.append((name, rev, ns, "import"))
    return out


def _imported(session):
    """The modules ours import that are not ours (ietf-inet-types...)."""
    ours = {m["name"] for m in session.schema.modules}
    names = set()
    for name in ours:
        names.update(re.findall(r"^\s*import\s+([\w.-]+)", _source(session, name), re.M))
    return sorted(names - ours)


def capabilities(session):
    mods = ["%s?module=%s&revision=%s" % (ns, name, rev)
            for name, rev, ns, _conf in modules(session, imported=False)]
    set_id = module_set_id(session)
    lib = "urn:ietf:params:netconf:capability:yang-library:1.0?revision=2016-06-21&module-set-id=%s" % set_id
    return BASE_CAPABILITIES + [lib] + mods


def module_set_id(session):
    return hashlib.sha256(session.schema.digest.encode()).hexdigest()[:16]


def _source(session, name):
    for info in session.schema.modules:
        if info["name"] == name and info.get("file"):
            with open(os.path.join(session.schema.directory, info["file"]), encoding="utf-8") as handle:
                return handle.read()
    module = session.engine.ctx.get_module(name)
    if module is None:
        raise KeyError(name)
    return module.print_mem("yang")


def state(session, parent, hello_caps, sessions):
    """Append <netconf-state> and <modules-state> to PARENT."""
    mon = ET.SubElement(parent, "netconf-state", {"xmlns": MON_NS})
    caps = ET.SubElement(mon, "capabilities")
    for cap in hello_caps:
        ET.SubElement(caps, "capability").text = cap
    stores = ET.SubElement(mon, "datastores")
    for name in ("running", "candidate"):
        ds = ET.SubElement(stores, "datastore")
        ET.SubElement(ds, "name").text = name
        holder = session.store.lock_holder(name)
        if holder:
            locks = ET.SubElement(ds, "locks")
            glob = ET.SubElement(locks, "global-lock")
            ET.SubElement(glob, "locked-by-session").text = str(holder[0])
            ET.SubElement(locks, "locked-time").text = _time(holder[4])
    schemas = ET.SubElement(mon, "schemas")
    for name, rev, ns, _conf in modules(session):
        entry = ET.SubElement(schemas, "schema")
        for tag, text in (("identifier", name), ("version", rev), ("format", "yang"),
                          ("namespace", ns), ("location", "NETCONF")):
            ET.SubElement(entry, tag).text = text
    rows = ET.SubElement(mon, "sessions")
    for sid, user, client, _pid, started, peer in sessions:
        row = ET.SubElement(rows, "session")
        for tag, text in (("session-id", str(sid)), ("transport", "netconf-ssh" if client == "netconf" else client),
                          ("username", user), ("source-host", peer or None), ("login-time", _time(started))):
            if text:
                ET.SubElement(row, tag).text = text
    lib = ET.SubElement(parent, "modules-state", {"xmlns": YANGLIB_NS})
    ET.SubElement(lib, "module-set-id").text = module_set_id(session)
    for name, rev, ns, conf in modules(session):
        mod = ET.SubElement(lib, "module")
        for tag, text in (("name", name), ("revision", rev), ("namespace", ns),
                          ("conformance-type", conf)):
            ET.SubElement(mod, tag).text = text


def _time(stamp):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def get_schema(session, rpc_elem):
    """The YANG text asked for by <get-schema> (RFC 6022 section 3.1)."""
    def field(name):
        elem = rpc_elem.find("{%s}%s" % (MON_NS, name))
        return (elem.text or "").strip() if elem is not None else None
    identifier, version, fmt = field("identifier"), field("version"), field("format")
    if not identifier:
        raise RpcError("missing-element", "get-schema needs an identifier",
                       info={"bad-element": "identifier"})
    if fmt and fmt.rpartition(":")[2] != "yang":
        raise RpcError("invalid-value", "only the yang format is served", info={"bad-element": "format"})
    known = {name: rev for name, rev, _ns, _conf in modules(session)}
    if identifier not in known or (version and version != known[identifier]):
        raise RpcError("invalid-value", "no schema %s%s" % (identifier, "@" + version if version else ""),
                       info={"bad-element": "identifier"})
    return _source(session, identifier)
