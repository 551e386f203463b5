"""Commit-time validation of every YANG constraint, by libyang, paying only for what changed.

The running tree is valid. A candidate differs from it in a few places; libyang is given
the "skeleton" (everything outside top-level lists) plus only the top-level list entries
that changed or that a changed constraint can read (see schema/xpathdeps.py). Leafref
targets are followed by value; `unique` and `max-elements` across the whole list are
checked here, since libyang only sees a subset of the entries.
"""

import json
import re

from ..schema.defaults import default_of
from ..schema.xpathdeps import GLOBAL, simple_leafref, top_list
from .tree import diff, key_tuple, ordered_keys

MAX_ERRORS = 20


class Problem:
    """One constraint violation: a sentence, the offending data path, the YANG app tag."""

    def __init__(self, message, path=(), xpath=None, app_tag=None, non_unique=()):
        self.message = message
        self.path = path          # data path tuple of the offender
        self.xpath = xpath        # the same as an instance-identifier, for NETCONF
        self.app_tag = app_tag
        self.non_unique = non_unique   # data paths of the leaves a `unique` finds equal

    def __repr__(self):
        return "Problem(%r, %r)" % (self.message, self.path)


class Plan:
    """Which entries of each top-level list libyang must see."""

    def __init__(self):
        self.full = set()         # paths of lists given whole
        self.keys = {}            # list path -> set of keys given

    def wants(self, lst):
        return lst.path in self.full or bool(self.keys.get(lst.path))

    def add(self, lst, key):
        if lst.path not in self.full:
            self.keys.setdefault(lst.path, set()).add(key)


def validate(schema, engine, running, candidate, full=False, changes=None):
    """Problems of CANDIDATE (empty when valid), given that RUNNING is valid; CHANGES is
    diff(running, candidate) when the caller has it already."""
    if changes is None:
        changes = diff(running, candidate, schema.roots)
    if not changes and not full:
        return []
    plan = Plan()
    if full:
        plan.full.update(n.path for n in _top_lists(schema))
    else:
        _plan(schema, changes, candidate, plan)
    problems = _unique_and_max(schema, candidate, plan, full)
    return problems + _libyang(schema, engine, candidate, plan, problems)


def _top_lists(schema):
    return [n for n in schema.walk() if n.kind == "list" and top_list(n) is n]


def _entries(tree, lst):
    """The entry dict of top-level list LST in TREE."""
    here = tree
    for name in lst.path:
        here = here.get(name) if isinstance(here, dict) else None
        if here is None:
            return {}
    return here


def _change_top(change):
    """(top-level list, key) of the entry a change lies in; key None for a reorder."""
    lst = top_list(change.node)
    if lst is None:
        return None
    for step in change.path:
        if isinstance(step, tuple):
            return lst, step[1]
    return lst, None


def _affects(changed, watched):
    n = min(len(changed), len(watched))
    return changed[:n] == watched[:n]


def _plan(schema, changes, candidate, plan):
    constrained = [n for n in schema.walk() if n.must_refs is not None and n.config]
    leafrefs = [n for n in schema.walk() if n.config and simple_leafref(n)]
    changed_paths = [c.node.path for c in changes]
    top_lists = _top_lists(schema)
    for change in changes:
        if change.node.kind == "container":           # created or deleted whole
            depth = len(change.node.path)
            plan.full.update(l.path for l in top_lists if l.path[:depth] == change.node.path)
        where = _change_top(change)
        if where is None:
            continue
        lst, key = where
        if key is None:                       # reordered user-ordered list
            plan.full.add(lst.path)
        elif key in _entries(candidate, lst):
            plan.add(lst, key)
    if any(n.must_refs == GLOBAL for n in constrained):
        plan.full.update(n.path for n in _top_lists(schema))
        return
    while True:
        before = (set(plan.full), {k: set(v) for k, v in plan.keys.items()})
        for node in constrained:
            home = top_list(node)
            full_lists, watched = node.must_refs
            if home is not None and any(_affects(c, w) for c in changed_paths for w in watched):
                plan.full.add(home.path)
            if home is None or plan.wants(home):
                plan.full.update(full_lists)
        for node in leafrefs:
            _plan_leafref(schema, node, candidate, changed_paths, plan)
        for lst in _top_lists(schema):
            if lst.min_elements and lst.path not in plan.full:
                for key in list(_entries(candidate, lst))[:lst.min_elements]:
                    plan.add(lst, key)
        if before == (plan.full, plan.keys):
            return


def _instances(tree, node, plan, only_planned):
    """(top entry key or None, value) of every instance of leaf NODE in TREE."""
    home = top_list(node)
    if home is None:
        value = _leaf_at(tree, node.path)
        return [(None, v) for v in _values(node, value)]
    found = []
    entries = _entries(tree, home)
    keys = entries if (not only_planned or home.path in plan.full) else plan.keys.get(home.path, ())
    rel = node.path[len(home.path):]
    for key in keys:
        entry = entries.get(key)
        if entry is not None:
            for value in _values(node, _leaf_in(entry, home, rel)):
                found.append((key, value))
    return found


def _values(node, value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _leaf_at(tree, path):
    here = tree
    for name in path:
        if not isinstance(here, dict):
            return None
        here = here.get(name)
    return here


def _leaf_in(entry, home, rel):
    """Value of the node REL (schema names) below a top-level list entry; nested lists
    are not followed (their leafrefs make the analysis fall back to whole entries)."""
    here = entry
    node = home
    for name in rel:
        node = node.children[name]
        if not isinstance(here, dict):
            return None
        here = here.get(name)
        if node.kind == "list" and here is not None:
            return None
    return here


def _plan_leafref(schema, node, candidate, changed_paths, plan):
    target = schema.find(simple_leafref(node))
    target_list = top_list(target)
    home = top_list(node)
    # Forward: each leafref instance libyang sees needs its target entry.
    if home is None or plan.wants(home):
        if target_list is not None and target_list.path not in plan.full:
            by_key = target.parent is target_list and target_list.keys == (target.name,)
            if not by_key:
                plan.full.add(target_list.path)
            else:
                entries = _entries(candidate, target_list)
                for _key, value in _instances(candidate, node, plan, True):
                    if value in entries:
                        plan.add(target_list, value)
    # Backward: when targets changed, every instance left dangling goes to libyang.
    if home is not None and any(_affects(c, target.path) for c in changed_paths):
        existing = {v for _k, v in _instances(candidate, target, plan, False)}
        for key, value in _instances(candidate, node, plan, False):
            if value not in existing:
                plan.add(home, key)


def _unique_and_max(schema, candidate, plan, full):
    problems = []
    touched = {lst.path for lst in _top_lists(schema) if plan.wants(lst)}
    for lst in _top_lists(schema):
        if lst.path not in touched and not full:
            continue
        entries = _entries(candidate, lst)
        if lst.max_elements is not None and len(entries) > lst.max_elements:
            problems.append(Problem("Too many %s entries: %d, at most %d allowed."
                                    % (lst.name, len(entries), lst.max_elements),
                                    path=lst.path, app_tag="too-many-elements"))
        for fields in lst.unique:
            seen = {}
            for key in ordered_keys(lst, entries):
                values = tuple(_unique_value(entries[key], lst, f.split("/")) for f in fields)
                if None in values:
                    continue
                if values in seen:
                    entry = lst.path[:-1] + ((lst.name, key),)
                    problems.append(Problem(
                        "%s %s and %s have the same %s (must be unique)."
                        % (lst.name, " ".join(key_tuple(seen[values])), " ".join(key_tuple(key)),
                           " and ".join(fields)),
                        path=entry, app_tag="data-not-unique",
                        non_unique=tuple(entry + tuple(f.split("/")) for f in fields)))
                else:
                    seen[values] = key
    return problems


def _unique_value(entry, lst, names):
    """A unique-constrained leaf's value; YANG counts its default when it is absent."""
    value = _leaf_in(entry, lst, names)
    if value is not None:
        return value
    parent, node = _leaf_in(entry, lst, names[:-1]), lst
    for name in names[:-1]:
        node = node.children[name]
    return default_of(node.children[names[-1]], parent if isinstance(parent, dict) else {},
                      node.children)


def _pruned(schema, candidate, plan, dropped):
    """The candidate with top-level lists cut down to the planned entries."""
    out = dict(candidate)
    for lst in _top_lists(schema):
        parent = out
        source = candidate
        for name in lst.path[:-1]:
            if name not in source:
                parent = None
                break
            source = source[name]
            if parent[name] is source:            # not copied yet
                parent[name] = dict(source)
            parent = parent[name]
        if parent is None or lst.name not in source:
            continue
        entries = source[lst.name]
        if lst.path in plan.full:
            keep = [k for k in entries if (lst.path, k) not in dropped]
        else:
            keep = [k for k in plan.keys.get(lst.path, ()) if k in entries
                    and (lst.path, k) not in dropped]
        if keep:
            parent[lst.name] = {k: entries[k] for k in keep}
        else:
            del parent[lst.name]
    return out


def _libyang(schema, engine, candidate, plan, already):
    """Problems libyang finds in the planned part of CANDIDATE, each offending top-level
    entry dropped in turn so that one commit reports up to MAX_ERRORS offenders."""
    problems = []
    dropped = {_top_entry(schema, p.path) for p in already} - {None}
    for _ in range(MAX_ERRORS):
        errors = _errors(schema, engine, _pruned(schema, candidate, plan, dropped))
        if not errors:
            break
        message, location, app_tag = errors[-1]
        xpath, is_data = _location(location)
        path = instance_path(schema, xpath)
        top = _top_entry(schema, path)
        if not is_data:
            lst = top_list(schema.find(tuple(s for s in path if not isinstance(s, tuple))) or
                           _schema_node(schema, xpath))
            if lst is not None:
                top = _bisect(schema, engine, candidate, plan, dropped, lst, message)
                path = lst.path[:-1] + ((lst.name, top[1]),) if top else path
        if not _dangling_because_dropped(schema, candidate, plan, path):
            problems.append(Problem(message, path, xpath if is_data else None, app_tag))
        if top is None or top in dropped:
            break
        dropped.add(top)
    return problems


def _dangling_because_dropped(schema, candidate, plan, path):
    """True for a leafref error whose target exists in the candidate: it only appears
    because the target's entry was dropped after an error of its own."""
    if not path or isinstance(path[-1], tuple):
        return False
    from .tree import resolve, get
    node = resolve(schema, path)
    if not simple_leafref(node):
        return False
    target = schema.find(simple_leafref(node))
    values = {v for _k, v in _instances(candidate, target, plan, False)}
    return get(candidate, path) in values


def _errors(schema, engine, tree):
    from .codec import to_json_obj
    # UTF-8, not \u escapes: libyang refuses the surrogate pairs of characters beyond U+FFFF
    return engine.parse_errors(json.dumps(to_json_obj(tree, schema), ensure_ascii=False))


_LOCATION = re.compile(r'(Data|Schema) location "([^"]+)"', re.IGNORECASE)


def _location(text):
    """(path, is a data path) from libyang's error location text."""
    if not text:
        return None, False
    found = {kind.lower(): path for kind, path in _LOCATION.findall(text)}
    if "data" in found:
        return found["data"], True
    return found.get("schema", text), False


def _schema_node(schema, xpath):
    names = tuple(name for name, _ in _SEGMENT.findall(xpath or ""))
    while names and schema.find(names) is None:
        names = names[:-1]
    return schema.find(names) if names else None


def _bisect(schema, engine, candidate, plan, dropped, lst, message):
    """The entry of LST that causes MESSAGE, found by halving the entries libyang sees."""
    entries = _entries(candidate, lst)
    if lst.path in plan.full:
        keys = [k for k in entries if (lst.path, k) not in dropped]
    else:
        keys = [k for k in plan.keys.get(lst.path, ()) if k in entries and (lst.path, k) not in dropped]
    while len(keys) > 1:
        half = keys[:len(keys) // 2]
        trial = Plan()
        trial.full = plan.full - {lst.path}
        trial.keys = dict(plan.keys, **{"": ()})
        trial.keys[lst.path] = set(half)
        found = any(m == message for m, _l, _a in
                    _errors(schema, engine, _pruned(schema, candidate, trial, dropped)))
        keys = half if found else keys[len(keys) // 2:]
    return (lst.path, keys[0]) if keys else None


def _top_entry(schema, path):
    names = []
    for step in path:
        if isinstance(step, tuple):
            names.append(step[0])
            node = schema.find(tuple(names))
            if node is not None and top_list(node) is node:
                return (node.path, step[1])
            return None
        names.append(step)
    return None


_SEGMENT = re.compile(r"/(?:[\w.-]+:)?([\w.-]+)((?:\[[^\]]*\])*)")
_PREDICATE = re.compile(r"\[(?:[\w.-]+:)?([\w.-]+)=(?:'([^']*)'|\"([^\"]*)\")\]")


def instance_path(schema, xpath):
    """A libyang data path (/m:a/b[k='v']/c) as a data path tuple."""
    if not xpath:
        return ()
    path = []
    names = []
    for name, predicates in _SEGMENT.findall(xpath):
        names.append(name)
        node = schema.find(tuple(names))
        if node is None:
            break
        if node.kind == "list" and predicates:
            found = {m[0]: (m[1] or m[2]) for m in _PREDICATE.findall(predicates)}
            key = tuple(found.get(k, "") for k in node.keys)
            path.append((name, key[0] if len(key) == 1 else key))
        elif node.kind == "leaf-list":
            path.append(name)
            break
        else:
            path.append(name)
    return tuple(path)
