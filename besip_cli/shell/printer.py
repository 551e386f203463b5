"""Configuration as CLI text: the nested C-style form, the flat `display set` form, and
`show | compare` computed on the data tree (never on rendered text)."""

from ..datastore import tree as T
from .lexer import quote


def _value_tokens(node, value, conceal):
    def text(item):
        if conceal and node.secret == "encrypt":
            item = conceal(item)
        return quote(item)
    if node.kind == "leaf-list":
        return "[ %s ]" % " ".join(text(v) for v in value)
    if node.type.base == "empty":
        return None
    return text(value)


def _leaf_line(prefix, node, value, conceal):
    tail = _value_tokens(node, value, conceal)
    return " ".join(prefix + [node.name] + ([tail] if tail is not None else []))


def _children(node, schema):
    return (schema.roots if node is None else node.children).values()


def nested(schema, data, node=None, prefix=(), indent=0, conceal=None, skip_keys=True):
    """Lines of DATA (the content of NODE) in the nested form that scripts read back."""
    lines = []
    pad = " " * indent
    for child in _children(node, schema):
        if not child.config or child.name not in data:
            continue
        if skip_keys and node is not None and node.kind == "list" and child.name in node.keys:
            continue
        value = data[child.name]
        words = list(prefix) + [child.name]
        if child.kind == "container":
            inner = nested(schema, value, child, words, indent, conceal)
            if child.presence and not inner:
                lines.append(pad + " ".join(words))
            lines.extend(inner)
        elif child.kind == "list":
            for key in T.ordered_keys(child, value):
                keys = [quote(k) for k in T.key_tuple(key)]
                lines.append(pad + " ".join(words + keys))
                lines.extend(nested(schema, value[key], child, (), indent + 1, conceal))
                lines.append(pad + "!")
        else:
            lines.append(pad + _leaf_line(list(prefix), child, value, conceal))
    return lines


def flat(schema, data, node=None, prefix=(), conceal=None):
    """One line per leaf, each a complete statement from the top of configuration mode."""
    lines = []
    for child in _children(node, schema):
        if not child.config or child.name not in data:
            continue
        if node is not None and node.kind == "list" and child.name in node.keys:
            continue
        value = data[child.name]
        words = list(prefix) + [child.name]
        if child.kind == "container":
            inner = flat(schema, value, child, words, conceal)
            lines.extend(inner or ([" ".join(words)] if child.presence else []))
        elif child.kind == "list":
            for key in T.ordered_keys(child, value):
                entry_words = words + [quote(k) for k in T.key_tuple(key)]
                inner = flat(schema, value[key], child, entry_words, conceal)
                lines.extend(inner or [" ".join(entry_words)])
        else:
            lines.append(_leaf_line(list(prefix), child, value, conceal))
    return lines


def subtree(schema, data, path):
    """DATA cut down to PATH (keeping the parents), for `show running-config PATH`."""
    if not path:
        return data
    step = path[0]
    if isinstance(step, tuple):
        name, key = step
        entry = data.get(name, {}).get(key)
        inner = None if entry is None else subtree(schema, entry, path[1:])
        return {name: {key: inner}} if inner or (inner is not None and not path[1:]) else {}
    value = data.get(step)
    if value is None:
        return {}
    if isinstance(value, dict) and len(path) > 1:
        inner = subtree(schema, value, path[1:])
        return {step: inner} if inner else {}
    return {step: value}


def path_words(path):
    words = []
    for step in path:
        if isinstance(step, tuple):
            words.append(step[0])
            words.extend(quote(k) for k in T.key_tuple(step[1]))
        else:
            words.append(step)
    return words


def compare(schema, old, new, conceal=None):
    """`show | compare`: [edit PATH] banners, then '-'/'+' statements relative to PATH."""
    lines = []
    banner = None
    for change in T.diff(old, new, schema.roots):
        parent_path = change.path[:-1]
        leaf_like = not isinstance(change.path[-1], tuple)
        if leaf_like and change.node.kind == "list":      # a user-ordered list re-ordered
            parent_path = change.path[:-1]
        title = "[edit%s]" % "".join(" " + w for w in path_words(parent_path))
        if title != banner:
            lines.append(title)
            banner = title
        for sign, value in (("-", change.old), ("+", change.new)):
            if value is None:
                continue
            for line in _change_lines(schema, change, value, conceal):
                lines.append(sign + " " + line)
    return lines


def _change_lines(schema, change, value, conceal):
    node = change.node
    last = change.path[-1]
    if isinstance(last, tuple):
        head = " ".join([node.name] + [quote(k) for k in T.key_tuple(last[1])])
        body = nested(schema, value, node, (), 1, conceal)
        return [head] + body + ["!"]
    if node.kind == "list":
        return ["%s order: %s" % (node.name, " ".join(quote(" ".join(T.key_tuple(k))) for k in value))]
    if node.kind == "container":
        inner = nested(schema, value, node, (node.name,), 0, conceal)
        return inner or [node.name]
    return [_leaf_line([], node, value, conceal)]
