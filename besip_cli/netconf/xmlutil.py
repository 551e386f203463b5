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


MAX_DEPTH = 64       # element nesting a request may use (our schema needs about a dozen)


def parse(data):
    """The root element of message DATA, and the prefix -> namespace bindings in scope at
    each element that has a `select` attribute (an XPath filter: innermost bindings win).
    White space before the message is skipped. DTDs, entities and external references are
    refused (malformed-message), and so is nesting deeper than MAX_DEPTH (too-big)."""
    scopes = {}
    stack = [{}]
    declared = {}
    root = None
    try:
        for event, item in iterparse(io.BytesIO(data.lstrip()), events=("start-ns", "start", "end"),
                                     forbid_dtd=True):
            if event == "start-ns":
                declared[item[0]] = item[1]
            elif event == "start":
                stack.append({**stack[-1], **declared} if declared else stack[-1])
                declared = {}
                if len(stack) > MAX_DEPTH + 1:
                    raise RpcError("too-big", "XML nested deeper than %d levels" % MAX_DEPTH,
                                   type="rpc")
                if root is None:
                    root = item
                if "select" in item.attrib:
                    scopes[item] = stack[-1]
            else:
                stack.pop()
    except (ET.ParseError, DefusedXmlException, UnicodeError) as exc:
        raise RpcError("malformed-message", "malformed XML: %s" % (str(exc) or type(exc).__name__),
                       type="rpc")
    return root, scopes


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
