"""Compile YANG modules with pyang into the compact tree of `node.py`."""

import os

from .node import Schema, SchemaNode, TypeInfo
from . import xpathdeps

EXT_MODULE = "besip-extensions"
DATA_KEYWORDS = ("container", "list", "leaf", "leaf-list")
HINTS = {
    "ipv4-address": "A.B.C.D",
    "ipv6-address": "X:X::X",
    "ip-address": "A.B.C.D|X:X::X",
    "host": "HOST",
    "domain-name": "DOMAIN",
    "port-number": "<0-65535>",
    "date-and-time": "YYYY-MM-DDThh:mm:ssZ",
    "sip-secret": "<string, 8-64 chars>",     # what a user types; `$9$` tokens are longer
}


class SchemaError(Exception):
    """The YANG modules do not compile."""


def compile_modules(files, digest):
    """Parse and validate FILES with pyang; return a Schema."""
    from pyang import context, repository

    dirs = sorted({os.path.dirname(os.path.abspath(f)) for f in files})
    ctx = context.Context(repository.FileRepository(os.pathsep.join(dirs), use_env=True))
    modules = []
    for path in files:
        with open(path, encoding="utf-8") as handle:
            module = ctx.add_module(path, handle.read())
        if module is None:
            raise SchemaError("cannot parse %s" % path)
        modules.append(module)
    ctx.validate()
    errors = [e for e in ctx.errors if _is_error(e)]
    if errors:
        pos, tag, args = errors[0]
        from pyang import error
        raise SchemaError("%s: %s" % (pos, error.err_to_str(tag, args)))

    roots = {}
    infos = []
    for module in modules:
        if module.keyword != "module":
            continue
        infos.append({
            "name": module.arg,
            "revision": module.search_one("revision").arg if module.search_one("revision") else None,
            "namespace": module.search_one("namespace").arg,
            "prefix": module.search_one("prefix").arg,
            "file": os.path.basename(module.pos.ref),
        })
        for stmt in module.i_children:
            if stmt.keyword in DATA_KEYWORDS + ("choice",):
                for node in _convert(stmt, None, module.arg, ()):
                    if node.name in roots:
                        raise SchemaError("top-level node %s defined twice" % node.name)
                    roots[node.name] = node
    schema = Schema(roots, infos, digest)
    xpathdeps.annotate(schema, _constraint_sources)
    return schema


def _is_error(err):
    from pyang import error
    _pos, tag, _args = err
    return error.is_error(error.err_level(tag))


def _convert(stmt, parent, module, choice, default_cases=()):
    """Yield SchemaNodes for STMT (a choice yields the nodes of its cases)."""
    if stmt.keyword == "choice":
        inner = default_cases + (_arg(stmt, "default"),)
        for case in stmt.i_children:
            step = choice + ((stmt.arg, case.arg),)
            for child in case.i_children if case.keyword == "case" else (case,):  # else shorthand
                yield from _convert(child, parent, module, step, inner)
        return
    if stmt.keyword not in DATA_KEYWORDS:
        return
    node = SchemaNode(stmt.keyword, stmt.arg, stmt.i_module.i_modulename, parent)
    node.choice = choice
    node.default_cases = default_cases
    _SOURCES[id(node)] = stmt
    node.description = _arg(stmt, "description") or ""
    node.help = first_sentence(node.description)
    node.config = getattr(stmt, "i_config", True) is not False
    node.units = _arg(stmt, "units")
    node.mandatory = _arg(stmt, "mandatory") == "true"
    node.presence = stmt.search_one("presence") is not None
    node.user_ordered = _arg(stmt, "ordered-by") == "user"
    node.min_elements = int(_arg(stmt, "min-elements") or 0)
    max_elements = _arg(stmt, "max-elements")
    node.max_elements = int(max_elements) if max_elements not in (None, "unbounded") else None
    secret = stmt.search_one((EXT_MODULE, "secret"))
    node.secret = secret.arg if secret is not None else None
    if stmt.keyword == "list":
        node.keys = tuple((_arg(stmt, "key") or "").split())
        node.unique = tuple(tuple(_local(p) for p in u.arg.split()) for u in stmt.search("unique"))
    if stmt.keyword in ("leaf", "leaf-list"):
        node.type = _type_info(stmt.search_one("type"))
        defaults = [d.arg for d in stmt.search("default")]
        if not defaults:
            defaults = _typedef_default(stmt.search_one("type"))
        if defaults:
            node.default = defaults[0] if stmt.keyword == "leaf" else tuple(defaults)
    node.constraints = bool(stmt.search("must") or stmt.search_one("when")
                            or (node.type is not None and _has_leafref(node.type)))
    for child in getattr(stmt, "i_children", []):
        for sub in _convert(child, node, module, ()):
            node.children[sub.name] = sub
    node.config_children = {n: c for n, c in node.children.items()          # list keys are
                            if c.config and n not in node.keys}           # fixed, not set
    node.keywords = {n: c.help for n, c in node.config_children.items()}
    yield node


def first_sentence(text):
    """The first sentence of a description, on one line."""
    text = " ".join(text.split())
    end = text.find(". ")
    return text[:end + 1] if end >= 0 else text


_SOURCES = {}


def _constraint_sources(node):
    """XPath expressions (must, when) attached to NODE's statement."""
    stmt = _SOURCES.get(id(node))
    if stmt is None:
        return []
    exprs = [m.arg for m in stmt.search("must")]
    when = stmt.search_one("when")
    if when is not None:
        exprs.append(when.arg)
    return exprs


def _arg(stmt, keyword):
    sub = stmt.search_one(keyword)
    return sub.arg if sub is not None else None


def _local(name):
    return "/".join(part.split(":")[-1] for part in name.split("/"))


def _has_leafref(info):
    return info.base == "leafref" or any(_has_leafref(m) for m in info.members)


def _typedef_default(type_stmt):
    typedef = getattr(type_stmt, "i_typedef", None)
    while typedef is not None:
        default = typedef.search_one("default")
        if default is not None:
            return [default.arg]
        typedef = getattr(typedef.search_one("type"), "i_typedef", None)
    return []


def _type_info(type_stmt):
    """Resolve TYPE_STMT's typedef chain into a TypeInfo."""
    chain = [type_stmt]
    typedef = getattr(type_stmt, "i_typedef", None)
    name = None
    while typedef is not None:
        if name is None:
            name = typedef.arg
        inner = typedef.search_one("type")
        chain.append(inner)
        typedef = getattr(inner, "i_typedef", None)
    base = chain[-1].arg.split(":")[-1]
    restriction = lambda keyword: next((t.search_one(keyword).arg for t in chain
                                        if t.search_one(keyword) is not None), None)
    info = TypeInfo(base, name)
    if base == "enumeration":
        enum_stmt = next(t for t in chain if t.search("enum"))
        info.enums = tuple((e.arg, " ".join((_arg(e, "description") or "").split()))
                           for e in enum_stmt.search("enum"))
        info.hint = ""
    elif base == "union":
        union_stmt = next(t for t in chain if t.search("type"))
        info.members = tuple(_type_info(m) for m in union_stmt.search("type"))
        info.hint = "|".join(dict.fromkeys(m.hint for m in info.members if m.hint))
    elif base == "leafref":
        spec = getattr(type_stmt, "i_type_spec", None)
        target = getattr(spec, "i_target_node", None)
        path = restriction("path") or ""
        if target is not None and "[" not in path:
            info.leafref = _stmt_path(target)
            info.hint = "<%s>" % target.arg
        info.require_instance = restriction("require-instance") != "false"
    else:
        info.hint = _hint(base, name, restriction("range"), restriction("length"))
    return info


def _hint(base, typedef, rng, length):
    local = (typedef or "").split(":")[-1]
    if local in HINTS and not rng:
        return HINTS[local]
    if base in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "decimal64"):
        if rng:
            return "<%s>" % rng.replace("..", "-").replace(" ", "")
        return "<%s>" % base
    if base == "string":
        if length:
            low, _, high = length.partition("..")
            return "<string, %s chars>" % ("%s-%s" % (low, high) if high else low)
        return "<string>"
    if base == "boolean":
        return "true|false"
    return "<%s>" % base


def _stmt_path(stmt):
    names = []
    while stmt is not None and stmt.keyword not in ("module", "submodule"):
        if stmt.keyword in DATA_KEYWORDS:
            names.append(stmt.arg)
        stmt = stmt.parent
    return tuple(reversed(names))
