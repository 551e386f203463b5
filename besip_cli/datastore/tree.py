"""The instance tree: plain dicts shaped by the schema, and the edits and diffs on it.

Shape: a container is a dict of its children; a list is a dict from key (a string, or
a tuple of strings for several keys) to its entry dict; a leaf is its canonical text ("" for
type empty); a leaf-list is a list of texts. A non-presence container exists only while it
has content. Data paths are tuples of steps: a name, or (list name, key) for an entry.
"""


class EditError(Exception):
    """An edit that RFC 6241 refuses: TAG is its error-tag (data-exists, data-missing...)."""

    def __init__(self, message, tag="invalid-value", path=None):
        super().__init__(message)
        self.tag = tag
        self.path = path


def entry_key(list_node, entry):
    """The key under which ENTRY is stored in LIST_NODE's dict."""
    if len(list_node.keys) == 1:
        return entry[list_node.keys[0]]
    return tuple(entry[k] for k in list_node.keys)


def key_tuple(key):
    return key if isinstance(key, tuple) else (key,)


def sort_key(list_node):
    """Order of a system-ordered list: numbers numerically, then text."""
    types = [list_node.children[k].type for k in list_node.keys]

    def order(key):
        return tuple((0, int(v), "") if t.json_kind(v) == "number" else (1, 0, v)
                     for t, v in zip(types, key_tuple(key)))
    return order


def ordered_keys(list_node, entries):
    if list_node.user_ordered:
        return list(entries)
    return sorted(entries, key=sort_key(list_node))


def copy_tree(tree):
    """A deep copy of a tree of dicts, lists and strings (several times faster than deepcopy)."""
    out = {}
    for name, value in tree.items():
        kind = type(value)
        out[name] = copy_tree(value) if kind is dict else value[:] if kind is list else value
    return out


def resolve(schema, path):
    """Schema node of a data path."""
    node = None
    children = schema.roots
    for step in path:
        name = step[0] if isinstance(step, tuple) else step
        node = children[name]
        children = node.children
    return node


def get(tree, path):
    """The value at PATH, or None."""
    here = tree
    for step in path:
        if isinstance(step, tuple):
            here = here.get(step[0], {}).get(step[1]) if isinstance(here, dict) else None
        else:
            here = here.get(step) if isinstance(here, dict) else None
        if here is None:
            return None
    return here


def ensure(tree, schema, path):
    """The container or entry dict at PATH, creating what is missing."""
    here = tree
    children = schema.roots
    for step in path:
        if isinstance(step, tuple):
            name, key = step
            node = children[name]
            entries = here.setdefault(name, {})
            if key not in entries:
                _clear_other_cases(here, node)
                entries[key] = dict(zip(node.keys, key_tuple(key)))
            here = entries[key]
        else:
            node = children[step]
            if step not in here:
                _clear_other_cases(here, node)
            here = here.setdefault(step, {})
        children = node.children
    return here


def _clear_other_cases(parent_data, node):
    """Setting a node of one case of a choice removes the nodes of its other cases."""
    if not node.choice or node.parent is None:
        return
    for other in node.parent.children.values():
        if other is node or other.name not in parent_data:
            continue
        for (mine, theirs) in zip(node.choice, other.choice):
            if mine[0] != theirs[0]:
                break
            if mine[1] != theirs[1]:
                del parent_data[other.name]
                break


def set_leaf(tree, schema, path, node, value):
    """Merge leaf or leaf-list VALUE (text, or list of texts to add) under PATH."""
    parent = ensure(tree, schema, path)
    if node.name not in parent:
        _clear_other_cases(parent, node)
    if node.kind == "leaf-list":
        values = parent.setdefault(node.name, [])
        for item in value:
            if item not in values:
                values.append(item)
        _check_max(node, values)
    else:
        parent[node.name] = value


def replace_leaf_list(tree, schema, path, node, values):
    parent = ensure(tree, schema, path)
    if len(set(values)) != len(values):
        raise EditError("%s: duplicate values" % node.name)
    if values:
        _clear_other_cases(parent, node)
        parent[node.name] = list(values)
        _check_max(node, values)
    else:
        parent.pop(node.name, None)


def _check_max(node, values):
    if node.max_elements is not None and len(values) > node.max_elements:
        raise EditError("%s: at most %d values allowed" % (node.name, node.max_elements),
                        tag="too-many-elements")


def delete(tree, schema, path, value=None, missing_ok=True):
    """Delete the node at PATH (or VALUE from a leaf-list); prune emptied containers."""
    parents = [tree]
    here = tree
    for step in path[:-1]:
        here = here.get(step[0], {}).get(step[1]) if isinstance(step, tuple) else here.get(step)
        if here is None:
            return _missing(path, missing_ok)
        parents.append(here)
    last = path[-1]
    if isinstance(last, tuple):
        entries = here.get(last[0], {})
        if last[1] not in entries:
            return _missing(path, missing_ok)
        del entries[last[1]]
        if not entries:
            del here[last[0]]
    elif value is not None:
        values = here.get(last)
        if not values or value not in values:
            return _missing(path, missing_ok)
        values.remove(value)
        if not values:
            del here[last]
    else:
        if last not in here:
            return _missing(path, missing_ok)
        del here[last]
    prune(tree, schema, path[:-1])
    return True


def _missing(path, missing_ok):
    if missing_ok:
        return False
    raise EditError("data-missing: nothing to delete at %s" % format_path(path),
                    tag="data-missing", path=path)


def prune(tree, schema, path):
    """Remove non-presence containers left empty along PATH, innermost first."""
    for depth in range(len(path), 0, -1):
        step = path[depth - 1]
        if isinstance(step, tuple):
            return
        node = resolve(schema, path[:depth])
        parent = get(tree, path[:depth - 1]) if depth > 1 else tree
        if parent is None or node.presence or parent.get(step):
            return
        parent.pop(step, None)


def format_path(path):
    parts = []
    for step in path:
        if isinstance(step, tuple):
            parts.append("%s %s" % (step[0], " ".join(key_tuple(step[1]))))
        else:
            parts.append(step)
    return " ".join(parts)


def merge(target, source, children):
    """Merge SOURCE into TARGET (both dicts at the same schema level)."""
    for name, value in source.items():
        node = children[name]
        if node.kind == "list":
            entries = target.setdefault(name, {})
            for key, entry in value.items():
                if key in entries:
                    merge(entries[key], entry, node.children)
                else:
                    entries[key] = copy_tree(entry)
        elif node.kind == "container":
            if name not in target:
                _clear_other_cases(target, node)
            merge(target.setdefault(name, {}), value, node.children)
        elif node.kind == "leaf-list":
            values = target.setdefault(name, [])
            values.extend(v for v in value if v not in values)
        else:
            if name not in target:
                _clear_other_cases(target, node)
            target[name] = value


class Change:
    """One difference between two trees: OLD/NEW are None where the node is absent."""

    __slots__ = ("path", "node", "old", "new")

    def __init__(self, path, node, old, new):
        self.path, self.node, self.old, self.new = path, node, old, new


def diff(old, new, children, path=()):
    """Changes from OLD to NEW, outermost first: whole entries and containers when added
    or removed, single leaves otherwise."""
    changes = []
    for name, node in children.items():
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if node.kind == "list":
            a, b = a or {}, b or {}
            changed = [k for k in a if a[k] != b.get(k)] + [k for k in b if k not in a]
            for key in ordered_keys(node, changed):
                ea, eb = a.get(key), b.get(key)
                step = path + ((name, key),)
                if ea is None or eb is None:
                    changes.append(Change(step, node, ea, eb))
                else:
                    changes.extend(diff(ea, eb, node.children, step))
            if node.user_ordered and a and b and [k for k in a if k in b] != [k for k in b if k in a]:
                changes.append(Change(path + (name,), node, list(a), list(b)))
        elif node.kind == "container" and a is not None and b is not None:
            changes.extend(diff(a, b, node.children, path + (name,)))
        else:
            changes.append(Change(path + (name,), node, a, b))
    return changes


def rebase(base, mine, onto, schema, mine_wins=False):
    """Replay the changes from BASE to MINE on top of ONTO (the three-way merge of a
    private candidate). A change of mine conflicts when a change from BASE to ONTO is at
    the same path, above or below it, and the two do not agree. Returns (the merged tree,
    the conflicting paths); the conflicting changes are left out, or with MINE_WINS applied."""
    ours = diff(base, mine, schema.roots)
    if not ours:
        return onto, []
    theirs = diff(base, onto, schema.roots)
    exact = {c.path for c in theirs}
    above = {c.path[:depth] for c in theirs for depth in range(1, len(c.path))}
    merged = copy_tree(onto)
    conflicts = []
    for change in ours:
        path = change.path
        if path in above or any(path[:depth] in exact for depth in range(1, len(path) + 1)):
            if get(mine, path) == get(onto, path):
                continue                      # both made the same change
            conflicts.append(path)
            if not mine_wins:
                continue
        _put(merged, schema, change, get(mine, path))
    if not mine_wins:                         # a case of a choice may have removed theirs
        conflicts.extend(c.path for c in theirs if c.path not in conflicts
                         and get(merged, c.path) != get(onto, c.path))
    return merged, conflicts


def _put(tree, schema, change, value):
    """Make the node of CHANGE hold VALUE (None: absent) in TREE."""
    path, node = change.path, change.node
    if value is None:
        delete(tree, schema, path)
    elif isinstance(path[-1], tuple) or node.kind == "container":
        here = ensure(tree, schema, path)
        here.clear()
        here.update(copy_tree(value))
    elif node.kind == "list":                 # the order of a user-ordered list
        ensure(tree, schema, path[:-1])[node.name] = copy_tree(value)
    elif node.kind == "leaf-list":
        replace_leaf_list(tree, schema, path[:-1], node, value)
    else:
        set_leaf(tree, schema, path[:-1], node, value)
