"""get/get-config filters: RFC 6241 subtree filtering, and XPath 1.0 (:xpath) by lxml."""

import copy
import re
import xml.etree.ElementTree as ET

from .errors import RpcError
from .xmlutil import split


def subtree(data, filter_elem, schema):
    """A new <data> element with the parts of DATA's children that FILTER_ELEM selects:
    the union of what each selector selects (RFC 6241 6.2.5), in the data's order. A list
    entry comes with its keys, which identify it (as netconfd does; yangcli needs them)."""
    marks = {}
    for child in data:
        for sel in filter_elem:
            if _same(child, sel):
                _merge(marks, _match(child, sel, schema.roots.get(split(child.tag)[1])))
    out = ET.Element(data.tag)
    out.extend(_copy(child, marks) for child in data if child in marks)
    return out


def _merge(marks, found):
    """Add FOUND (element -> WHOLE or PART, or None) to MARKS; WHOLE wins."""
    for elem, how in (found or {}).items():
        if marks.get(elem) is not WHOLE:
            marks[elem] = how


WHOLE, PART = "whole", "part"


def _copy(elem, marks):
    if marks[elem] is WHOLE:
        return copy.deepcopy(elem)
    out = ET.Element(elem.tag, elem.attrib)
    out.extend(_copy(child, marks) for child in elem if child in marks)
    return out


def whole_roots(filter_elem, schema):
    """The names of the top-level data nodes a subtree filter selects whole, when that is
    all it does (the common case, answered without filtering); else None."""
    if filter_elem is None or filter_elem.get("type", "subtree") != "subtree" or not len(filter_elem):
        return None
    names = []
    for sel in filter_elem:
        ns, name = split(sel.tag)
        node = schema.roots.get(name)
        if (node is None or ns != schema.namespace(node.module) or len(sel)
                or (sel.text or "").strip() or sel.attrib):
            return None
        names.append(name)
    return names


def _same(elem, sel):
    ns, name = split(elem.tag)
    sel_ns, sel_name = split(sel.tag)
    return name == sel_name and (sel_ns is None or sel_ns == ns)


def _match(elem, sel, node):
    """What selector SEL (whose name already matches) selects in ELEM, an instance of
    schema NODE (None outside our schema), as marks (element -> WHOLE or PART), or None
    when ELEM is not selected."""
    children = list(sel)
    if not children:
        content = (sel.text or "").strip()
        if content and (elem.text or "").strip() != content:
            return None
        return {elem: WHOLE}
    matches = [c for c in children if not len(c) and (c.text or "").strip()]
    others = [c for c in children if c not in matches]
    for m in matches:
        if not any(_same(d, m) and (d.text or "").strip() == m.text.strip() for d in elem):
            return None
    if not others:
        return {elem: WHOLE}
    marks, found = {}, False
    keys = node.keys if node is not None and node.kind == "list" else ()
    for d in elem:
        name = split(d.tag)[1]
        if name in keys or any(_same(d, m) for m in matches):
            marks[d] = WHOLE
            continue
        for sel_child in others:
            if _same(d, sel_child):
                kept = _match(d, sel_child, node.children.get(name) if node is not None else None)
                found = found or kept is not None
                _merge(marks, kept)
    if not found and not matches:
        return None
    marks[elem] = PART
    return marks


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_PREFIXED = re.compile(r"[A-Za-z_][\w.-]*:[A-Za-z_*]")


def xpath(data, select, prefixes, schema):
    """A new <data> element with the nodes XPath SELECT picks in DATA, with their ancestors
    (and the keys of ancestor list entries). Each top-level node is its own document, so
    `/prefix:top/...` addresses it as in NETCONF. An expression without any prefix matches
    names in every namespace, as yuma's netconfd does (yangcli sends such filters)."""
    from lxml import etree
    namespaces = {p: uri for p, uri in prefixes.items() if p}
    any_namespace = not _PREFIXED.search(_QUOTED.sub("", select))
    out = ET.Element(data.tag)
    for top in data:
        doc = etree.fromstring(ET.tostring(top))
        tags = {}
        if any_namespace:
            for elem in doc.iter():
                tags[elem] = elem.tag
                elem.tag = etree.QName(elem).localname
        try:
            result = doc.xpath(select, namespaces=namespaces)
        except etree.XPathError as exc:
            raise RpcError("invalid-value", "bad XPath filter %r: %s" % (select, exc),
                           info={"bad-element": "filter"})
        if not isinstance(result, list):
            raise RpcError("invalid-value", "the XPath filter must select nodes, not a %s"
                           % type(result).__name__, info={"bad-element": "filter"})
        picked = set()
        for item in result:
            node = item if isinstance(item, etree._Element) else getattr(item, "getparent", lambda: None)()
            if node is not None:
                picked.add(node)
        for elem, tag in tags.items():
            elem.tag = tag
        needed = set()
        for node in picked:
            parent = node.getparent()
            while parent is not None:
                needed.add(parent)
                parent = parent.getparent()
        _copy_picked(doc, out, picked, needed, schema, ())
    return out


def _copy_picked(node, parent, picked, needed, schema, path):
    from lxml import etree
    if node in picked:
        parent.append(ET.fromstring(etree.tostring(node)))
        return
    if node not in needed:
        return
    here = ET.SubElement(parent, node.tag)
    path = path + (etree.QName(node).localname,)
    snode = schema.find(path)
    keys = snode.keys if snode is not None else ()
    for child in node:
        name = etree.QName(child).localname if isinstance(child.tag, str) else None
        if name in keys and child not in picked:
            here.append(ET.fromstring(etree.tostring(child)))
        else:
            _copy_picked(child, here, picked, needed, schema, path)
