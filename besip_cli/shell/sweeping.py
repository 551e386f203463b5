"""Whether a `no` sweeps away much (a whole top-level tree, several list entries), so that
the interactive shell asks before doing it; scripts and NETCONF never ask."""

from ..datastore import tree as T
from . import printer


def sweeping(schema, data, path):
    """What deleting PATH from DATA removes, as a phrase ("pbx: 3 extensions, 1 trunk"),
    when it is a whole top-level tree or more than one list entry; else None."""
    here = T.get(data, path)
    if here is None:
        return None
    node = schema.find(tuple(step[0] if isinstance(step, tuple) else step for step in path))
    counts = {}
    if isinstance(path[-1], tuple):
        counts[node.name] = 1
    if isinstance(here, dict):
        _count(node, here, counts)
    if len(path) > 1 and sum(counts.values()) < 2:
        return None
    words = " ".join(printer.path_words(path))
    if not counts:
        return words
    return "%s (%s)" % (words, ", ".join(_plural(n, name) for name, n in counts.items()))


def _count(node, data, counts):
    """Add the list entries under NODE's DATA to COUNTS (list name -> entries)."""
    for name, value in data.items():
        child = node.config_children.get(name)
        if child is None:
            continue
        if child.kind == "list":
            counts[name] = counts.get(name, 0) + len(value)
            for entry in value.values():
                _count(child, entry, counts)
        elif child.kind == "container":
            _count(child, value, counts)


def _plural(count, name):
    if count == 1:
        return "1 " + name
    return "%d %s" % (count, name[:-1] + "ies" if name.endswith("y") else name + "es"
                      if name.endswith(("s", "x", "ch", "sh")) else name + "s")
