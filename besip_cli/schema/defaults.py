"""Schema defaults: THE filler of absent leaves, with YANG's choice rules (RFC 7950 §7.9.3).

A default inside a choice applies only when its case is the active one (some node of that
case is present) or, when no case of that choice is active, when it is the default case.
Non-presence containers are entered so their defaults appear too.
"""

from collections.abc import Mapping


def filled(data, children, skeleton=False, lazy=False):
    """A copy of DATA with the defaults of absent nodes filled in.

    SKELETON (what the service templates read) also gives every absent list {}, leaf-list
    [] and non-presence container, so no template tests for presence; otherwise (RFC 6243
    report-all) only nodes that carry a default are added. LAZY lists fill each entry when
    it is first read (a commit that renders one entry of 10,000 fills one)."""
    out = {}
    active = _active_cases(data, children)
    for name, node in children.items():
        value = data.get(name)
        if value is None and (not node.config or not _applies(node, active)):
            continue
        if not node.config:               # state data is kept as it is
            out[name] = value
            continue
        if node.kind == "list":
            if value is not None or skeleton:
                out[name] = LazyEntries(value or {}, node.children, skeleton) if lazy else \
                    {k: filled(e, node.children, skeleton) for k, e in (value or {}).items()}
        elif node.kind == "container":
            if value is None and node.presence:
                continue
            inner = filled(value or {}, node.children, skeleton, lazy)
            if value is not None or inner or skeleton:
                out[name] = inner
        elif value is not None:
            out[name] = value
        elif node.kind == "leaf-list":
            if node.default or skeleton:
                out[name] = list(node.default or ())
        elif node.default is not None:
            out[name] = node.default
    return out


def default_of(node, data, children):
    """The value an absent leaf NODE of DATA (whose schema siblings are CHILDREN) counts as."""
    return node.default if _applies(node, _active_cases(data, children)) else None


def _active_cases(data, children):
    """The (choice, case) prefixes that present nodes of DATA make active."""
    active = set()
    for name in data:
        node = children.get(name)
        if node is not None and node.choice:
            active.update(node.choice[:i + 1] for i in range(len(node.choice)))
    return active


def _applies(node, active):
    """True if NODE's cases are active, or are their choices' default with none active."""
    for i, (choice, case) in enumerate(node.choice):
        outer = node.choice[:i]
        if outer + ((choice, case),) in active:
            continue
        if any(len(a) > i and a[:i] == outer and a[i][0] == choice for a in active):
            return False                  # another case of this choice is active
        if node.default_cases[i] != case:
            return False
    return True


class LazyEntries(Mapping):
    """The entries of a list, read-only, each filled in on first access."""

    def __init__(self, raw, children, skeleton):
        self._raw, self._children, self._skeleton, self._done = raw, children, skeleton, {}

    def __getitem__(self, key):
        entry = self._done.get(key)
        if entry is None:
            entry = self._done[key] = filled(self._raw[key], self._children, self._skeleton, True)
        return entry

    def __iter__(self):
        return iter(self._raw)

    def __len__(self):
        return len(self._raw)

    def __contains__(self, key):
        return key in self._raw
