"""Safe XML input (no DTD, no entities), namespace helpers and instance-identifiers."""

import io
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ..datastore.tree import key_tuple
from .errors import RpcError

BASE_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"


def qn(name, ns=BASE_NS):
    return "{%s}%s" % (ns, name)


def split(tag):
    """(namespace or None, local name) of an ElementTree tag."""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return None, tag


def parse(data):
    """The root element of message DATA and every prefix -> namespace declared in it.
    DTDs, entities and external references are refused (malformed-message)."""
    prefixes = {}
    root = None
    try:
        for event, item in iterparse(io.BytesIO(data), events=("start-ns", "start"),
                                     forbid_dtd=True):
            if event == "start-ns":
                prefixes.setdefault(item[0], item[1])
            elif root is None:
                root = item
    except (ET.ParseError, DefusedXmlException, UnicodeError) as exc:
        raise RpcError("malformed-message", "malformed XML: %s" % (str(exc) or type(exc).__name__),
                       type="rpc")
    return root, prefixes


def text(elem):
    return (elem.text or "").strip() if elem is not None else ""


def instance_id(schema, path):
    """The instance-identifier (error-path) of data path PATH."""
    if not path:
        return "/"
    prefixes = {m["name"]: m["prefix"] for m in schema.modules}
    out = []
    children = schema.roots
    for step in path:
        name, key = step if isinstance(step, tuple) else (step, None)
        node = children.get(name)
        if node is None:
            out.append(name)
            break
        part = "%s:%s" % (prefixes.get(node.module, node.module), name)
        if key is not None:
            for kname, kval in zip(node.keys, key_tuple(key)):
                part += "[%s:%s=%s]" % (prefixes.get(node.module, node.module), kname,
                                         "'%s'" % kval if "'" not in kval else '"%s"' % kval)
        out.append(part)
        children = node.children
    return "/" + "/".join(out)
