"""With-defaults (RFC 6243): the stored tree is `explicit`; report-all and trim from it."""

MODES = ("explicit", "report-all", "trim")


def report_all(data, children):
    """A copy of DATA with the default of every absent leaf that has one (outside choices)."""
    out = dict(data)
    for name, node in children.items():
        if not node.config:
            continue
        if node.kind == "leaf" and name not in out and node.default is not None and not node.choice:
            out[name] = node.default
        elif node.kind == "leaf-list" and name not in out and node.default and not node.choice:
            out[name] = list(node.default) if isinstance(node.default, (list, tuple)) else [node.default]
        elif node.kind == "container":
            if name in out:
                out[name] = report_all(out[name], node.children)
            elif not node.presence and not node.choice:
                filled = report_all({}, node.children)
                if filled:
                    out[name] = filled
        elif node.kind == "list" and name in out:
            out[name] = {k: report_all(e, node.children) for k, e in out[name].items()}
    return out


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
        return report_all(data, schema.roots)
    if mode == "trim":
        return trim(data, schema.roots)
    return data
