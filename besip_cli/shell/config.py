"""Configuration statements generated from the schema (ConfD C-style).

A statement is a path of YANG node names: containers are walked through, a list name is
followed by its key values (and, alone on a line, enters the entry's sub-mode), leaves take
a value, leaf-lists take a value (added) or `[ v1 v2 ]` (replaced); after a leaf, further
leaves of the same level may follow on the line.
"""

from ..datastore import tree as T
from ..datastore.secrets import shown_value, verify_password
from .tokens import CR, ParseError


class Context:
    """Where a configuration sub-mode sits: a data path and its schema node (None: top)."""

    def __init__(self, path=(), node=None, parent=None):
        self.path, self.node, self.parent = path, node, parent

    def children(self, schema):
        return schema.config_roots if self.node is None else self.node.config_children

    def keywords(self, schema):
        """Statement keywords here -> help."""
        return schema.keywords if self.node is None else self.node.keywords

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


def in_enclosing_modes(ctx, first_pos, attempt):
    """ATTEMPT(mode) in CTX, then (as IOS does) in each enclosing mode, while the line's
    first word is what the mode does not know."""
    error = None
    for mode in ctx.chain():
        try:
            return attempt(mode)
        except ParseError as exc:
            if exc.kind != "invalid" or exc.pos != first_pos:
                raise
            error = error or exc
    raise error


def _key_values(tk, session, lst, path):
    values = []
    for key_name in lst.keys:
        leaf = lst.children[key_name]
        values.append(tk.value(leaf.type.hint or "<%s>" % key_name, leaf.help,
                               check=lambda text, leaf=leaf: _checked(session, leaf, text),
                               options=_key_options(tk, session.candidate, path, lst,
                                                    tuple(values))))
    return values[0] if len(values) == 1 else tuple(values)


def _key_options(tk, data, path, lst, done):
    """A function listing the existing keys' next component after DONE that start with
    what is typed (called only when completing: there may be thousands)."""
    def options():
        entries = T.get(data, path + (lst.name,)) or {}
        seen = {T.key_tuple(k)[len(done)] for k in entries
                if T.key_tuple(k)[:len(done)] == done}
        return [(k, "") for k in sorted(seen) if k.startswith(tk.partial)]
    return options


def _checked(session, leaf, text):
    try:
        return session.check_value(leaf, text)
    except ValueError as exc:
        value, reason = shown_value(leaf, text, exc)
        raise ValueError('invalid value "%s" for %s: %s (expected %s)'
                         % (value, leaf.name, reason, leaf.type.hint or leaf.type.base))


def parse_set(tk, session, ctx):
    """Parse a configuration statement. Returns (operations, sub-mode Context or None)."""
    schema = session.schema
    path, node = ctx.path, ctx.node
    ops = []
    need_more = True
    entered = None
    while True:
        here = Context(path, node)
        children = here.children(schema)
        name = tk.keyword(here.keywords(schema), optional=not need_more, cr=not need_more)
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
            key = _key_values(tk, session, child, path)
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
    def options():
        found = list(leaf.type.enums)
        for member in leaf.type.members:
            found.extend(member.enums)
        if leaf.type.leafref:
            target = session.schema.find(leaf.type.leafref)
            found.extend((v, "") for v in _values_of(session.candidate, target)
                         if v.startswith(tk.partial))
        if leaf.type.base == "boolean":
            found.extend((("true", ""), ("false", "")))
        return found
    hint = leaf.type.hint if not (leaf.type.enums or leaf.type.base == "boolean") else ""
    return tk.value(hint, leaf.help, check=lambda text: _checked(session, leaf, text),
                    options=options)


def _values_of(tree, node):
    """All values of leaf NODE in TREE (for completing leafrefs)."""
    chain = []
    while node is not None:
        chain.append(node)
        node = node.parent
    level = [tree]
    for step in reversed(chain):
        found = []
        for data in level:
            value = data.get(step.name) if isinstance(data, dict) else None
            if value is None:
                continue
            if step.kind == "list":
                found.extend(value.values())
            elif step.kind == "leaf-list":
                found.extend(value)
            else:
                found.append(value)
        level = found
    return sorted(set(level))


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
        here = Context(path, node)
        children = here.children(schema)
        name = tk.keyword(here.keywords(schema), optional=optional, cr=optional)
        if name is None:
            return path, None
        child = children[name]
        optional = True
        if child.kind == "container":
            path, node = path + (name,), child
            continue
        if child.kind == "list":
            key = _key_values(tk, session, child, path)
            path, node = path + ((name, key),), child
            continue
        path = path + (name,)
        value = None
        if child.kind == "leaf-list" and (not tk.at_end() or tk.completing):
            value = tk.value("", child.help, options=lambda: [
                (v, "") for v in T.get(session.candidate, path) or []] + [(CR, "")])
        elif not tk.at_end() and child.type.base != "empty":
            tk.value(child.type.hint, child.help,          # IOS accepts the old value
                     check=lambda text: _is_current(session, child, path, text))
        tk.end()
        return path, value


def _is_current(session, leaf, path, text):
    """TEXT, typed after `no LEAF`: ValueError unless it is LEAF's value (or LEAF is unset)."""
    current = T.get(session.candidate, path)
    if current is None:
        return text
    if leaf.secret == "hash" and not text.startswith("$"):
        same = verify_password(text, current)
    else:
        try:
            same = session.check_value(leaf, text) == current
        except ValueError:
            same = False
    if same:
        return text
    if leaf.secret:
        raise ValueError("%s does not match the configured value" % leaf.name)
    raise ValueError('%s is "%s", not "%s"' % (leaf.name, current, text))


def parse_show_path(tk, schema, ctx, data=None):
    """A path narrowing `show` of DATA: (data path, schema node); keys may be left out."""
    path, node = ctx.path, ctx.node
    while not tk.at_end() or tk.completing:
        here = Context(path, node)
        children = here.children(schema)
        name = tk.keyword(here.keywords(schema), optional=True)
        if name is None:
            break
        child = children[name]
        if child.kind == "list":
            keys = []
            for key_name in child.keys:
                if tk.at_end() and not tk.completing:
                    break
                keys.append(tk.value("<%s>" % key_name, child.children[key_name].help,
                                     options=_key_options(tk, data or {}, path, child,
                                                          tuple(keys))))
            if len(keys) == len(child.keys):
                path, node = path + ((name, keys[0] if len(keys) == 1 else tuple(keys)),), child
                continue
            if keys:
                raise ParseError("incomplete", tk.pos())
        path, node = path + (name,), child
        if child.is_leafish():
            break
    return path, node
