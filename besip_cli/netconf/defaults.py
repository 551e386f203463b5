"""With-defaults (RFC 6243): the stored tree is `explicit`; report-all and trim from it."""

from ..schema.defaults import filled

MODES = ("explicit", "report-all", "trim")


def trim(data, children):
    """A copy of DATA without the leaves whose value equals their default."""
    out = {}
    for name, value in data.items():
        node = children.get(name)
        if node is None:
            continue
        if node.kind == "leaf" and node.default is not None and value == node.default:
            continue
        if node.kind == "container":
            value = trim(value, node.children)
            if not value and not node.presence:
                continue
        elif node.kind == "list":
            value = {k: _keep_keys(trim(e, node.children), e, node) for k, e in value.items()}
        out[name] = value
    return out


def _keep_keys(trimmed, entry, node):
    for k in node.keys:
        trimmed[k] = entry[k]
    return trimmed


def apply(mode, data, schema):
    if mode == "report-all":
        return filled(data, schema.roots)
    if mode == "trim":
        return trim(data, schema.roots)
    return data
