"""Configuration statements generated from the schema (ConfD C-style).

A statement is a path of YANG node names: containers are walked through, a list name is
followed by its key values (and, alone on a line, enters the entry's sub-mode), leaves take
a value, leaf-lists take a value (added) or `[ v1 v2 ]` (replaced); after a leaf, further
leaves of the same level may follow on the line.
"""

from ..datastore import tree as T
from .tokens import CR, ParseError


class Context:
    """Where a configuration sub-mode sits: a data path and its schema node (None: top)."""

    def __init__(self, path=(), node=None, parent=None):
        self.path, self.node, self.parent = path, node, parent

    def children(self, schema):
        """The statements possible here (a list entry's keys are fixed: not among them)."""
        source = schema.roots if self.node is None else self.node.children
        keys = self.node.keys if self.node is not None and self.node.kind == "list" else ()
        return {name: child for name, child in source.items() if child.config and name not in keys}

    def tag(self):
        """The prompt tag: config, config-extension-100..."""
        if self.node is None:
            return "config"
        key = self.path[-1][1]
        return "config-%s-%s" % (self.node.name, "-".join(T.key_tuple(key)))

    def chain(self):
        ctx = self
        while ctx is not None:
            yield ctx
            ctx = ctx.parent


def _help(children):
    return {name: child.help for name, child in children.items()}


def _key_options(tk, existing, values):
    """The existing keys' next component after VALUES, as completion options (only when
    completing at the end of the line: there are thousands)."""
    if not (tk.completing and tk.at_end()):
        return ()
    seen = {k if isinstance(k, str) else k[len(values)] for k in existing
            if isinstance(k, str) or tuple(k[:len(values)]) == tuple(values)}
    return [(k, "") for k in sorted(k for k in seen if k.startswith(tk.partial))]


def _key_values(tk, session, lst, existing):
    values = []
    for key_name in lst.keys:
        leaf = lst.children[key_name]
        options = _key_options(tk, existing, values)
        values.append(tk.value(leaf.type.hint or "<%s>" % key_name, leaf.help,
                               check=lambda text, leaf=leaf: _checked(session, leaf, text),
                               options=options))
    return values[0] if len(values) == 1 else tuple(values)


def _checked(session, leaf, text):
    try:
        return session.check_value(leaf, text)
    except ValueError as exc:
        raise ValueError('invalid value "%s" for %s: %s (expected %s)'
                         % (text, leaf.name, exc, leaf.type.hint or leaf.type.base))


def _existing_keys(session, path, lst, data=None):
    data = session.candidate if data is None else data
    entries = T.get(data, path + (lst.name,)) if path else data.get(lst.name)
    return list(entries or ())


def parse_set(tk, session, ctx):
    """Parse a configuration statement. Returns (operations, sub-mode Context or None)."""
    schema = session.schema
    path, node = ctx.path, ctx.node
    ops = []
    need_more = True
    entered = None
    while True:
        children = Context(path, node).children(schema)
        name = tk.keyword(_help(children), optional=not need_more, cr=not need_more)
        if name is None:
            break
        child = children[name]
        entered = None
        if child.kind == "container":
            path, node = path + (name,), child
            if tk.at_end() and child.presence and not tk.completing:
                ops.append(("ensure", path, None, None))
                break
            need_more = not child.presence
            if child.presence:
                ops.append(("ensure", path, None, None))
            continue
        if child.kind == "list":
            key = _key_values(tk, session, child, _existing_keys(session, path, child))
            path, node = path + ((name, key),), child
            ops.append(("ensure", path, None, None))
            entered = Context(path, child, ctx)
            need_more = False
            continue
        if child.kind == "leaf":
            if child.type.base == "empty":
                value = ""
            else:
                value = _leaf_value(tk, session, child)
            ops.append(("leaf", path, child, value))
        else:
            ops.append(_leaf_list_op(tk, session, path, child))
        need_more = False
    return ops, entered


def _leaf_value(tk, session, leaf):
    options = [(name, text) for name, text in leaf.type.enums]
    for member in leaf.type.members:
        options.extend(member.enums)
    if leaf.type.leafref and tk.completing and tk.at_end():
        target = session.schema.find(leaf.type.leafref)
        options.extend((v, "") for v in _values_of(session.candidate, target)
                       if v.startswith(tk.partial))
    if leaf.type.base == "boolean":
        options.extend((("true", ""), ("false", "")))
    hint = leaf.type.hint if not (leaf.type.enums or leaf.type.base == "boolean") else ""
    return tk.value(hint, leaf.help, check=lambda text: _checked(session, leaf, text),
                    options=options)


def _values_of(tree, node):
    """All values of leaf NODE in TREE (for completing leafrefs)."""
    found = []

    def walk(data, names):
        if not names:
            if isinstance(data, list):
                found.extend(data)
            elif data is not None:
                found.append(data)
            return
        if isinstance(data, dict):
            walk_child(data.get(names[0]), names)

    def walk_child(value, names):
        schema_node = nodes[len(path) - len(names)]
        if value is None:
            return
        if schema_node.kind == "list" and tuple(names[1:]) == tuple(schema_node.keys):
            found.extend(value)                 # the target is the list's key: its keys
        elif schema_node.kind == "list":
            for entry in value.values():
                walk(entry, names[1:])
        else:
            walk(value, names[1:])

    nodes = []
    cursor = node
    while cursor is not None:
        nodes.append(cursor)
        cursor = cursor.parent
    nodes.reverse()
    path = [n.name for n in nodes]
    walk(tree, path)
    return sorted(set(found))


def _leaf_list_op(tk, session, path, leaf):
    check = lambda text: _checked(session, leaf, text)
    options = list(leaf.type.enums)
    token = tk.peek()
    if token is not None and token.is_word("["):
        tk.i += 1
        values = []
        while True:
            token = tk.peek()
            if token is not None and token.is_word("]"):
                tk.i += 1
                break
            values.append(tk.value(leaf.type.hint, leaf.help, check=check,
                                   options=options + [("]", "End of the list")]))
        return ("replace", path, leaf, values)
    return ("add", path, leaf, [tk.value(leaf.type.hint, leaf.help, check=check,
                                         options=options + [("[", "A whole list of values")])])


def apply_ops(tree, schema, ops):
    for kind, path, leaf, value in ops:
        if kind == "ensure":
            T.ensure(tree, schema, path)
        elif kind == "leaf":
            T.set_leaf(tree, schema, path, leaf, value)
        elif kind == "add":
            T.set_leaf(tree, schema, path, leaf, value)
        elif kind == "replace":
            T.replace_leaf_list(tree, schema, path, leaf, value)


def parse_delete(tk, session, ctx):
    """Parse the statement after `no`: (data path, leaf-list value or None)."""
    schema = session.schema
    path, node = ctx.path, ctx.node
    optional = False
    while True:
        children = Context(path, node).children(schema)
        name = tk.keyword(_help(children), optional=optional, cr=optional)
        if name is None:
            return path, None
        child = children[name]
        optional = True
        if child.kind == "container":
            path, node = path + (name,), child
            continue
        if child.kind == "list":
            key = _key_values(tk, session, child, _existing_keys(session, path, child))
            path, node = path + ((name, key),), child
            continue
        path = path + (name,)
        value = None
        if child.kind == "leaf-list" and (not tk.at_end() or tk.completing):
            current = T.get(session.candidate, path) or []
            value = tk.value("", child.help, options=[(v, "") for v in current] + [(CR, "")])
        elif not tk.at_end() and child.type.base != "empty":
            tk.value(child.type.hint, child.help)         # IOS accepts the old value
        tk.end()
        return path, value


def parse_show_path(tk, schema, ctx, data=None):
    """A path narrowing `show` of DATA: (data path, schema node); keys may be left out."""
    path, node = ctx.path, ctx.node
    while not tk.at_end() or tk.completing:
        children = Context(path, node).children(schema)
        name = tk.keyword(_help(children), optional=True)
        if name is None:
            break
        child = children[name]
        if child.kind == "list":
            keys = []
            for key_name in child.keys:
                if tk.at_end() and not tk.completing:
                    break
                existing = _existing_keys(None, path, child, data) if data is not None else ()
                keys.append(tk.value("<%s>" % key_name, child.children[key_name].help,
                                     options=_key_options(tk, existing, keys)))
            if len(keys) == len(child.keys):
                path, node = path + ((name, keys[0] if len(keys) == 1 else tuple(keys)),), child
                continue
            if keys:
                raise ParseError("incomplete", tk.pos())
        path, node = path + (name,), child
        if child.is_leafish():
            break
    return path, node
