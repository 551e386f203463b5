"""Which data a must/when/leafref expression can read: the basis of incremental validation.

For every node with constraints we record, once at compile time:
- `full`: top-level lists whose every entry the expression may read (it climbs out of its
  own list entry and walks into a list);
- `watched`: schema paths outside its own top-level list entry that it reads, so that a
  change there re-validates every instance of the node;
- or GLOBAL when the expression is beyond this analysis (deref, other axes, wildcards).
Simple leafrefs (a plain path to a leaf) are checked by value instead (see validate.py).
"""


GLOBAL = "global"


class Refs:
    __slots__ = ("full", "watched")

    def __init__(self):
        self.full = set()
        self.watched = set()


def annotate(schema, sources):
    """Set `must_refs` on every node whose constraints need the analysis."""
    from pyang import xpath_parser           # only when compiling: keeps start-up fast
    for node in schema.walk():
        exprs = list(sources(node))
        if _complex_leafref(node):
            node.must_refs = GLOBAL
            continue
        if not exprs:
            continue
        refs = Refs()
        try:
            for expr in exprs:
                _expr(_parse(expr), node, node, schema, refs)
        except _Global:
            node.must_refs = GLOBAL
            continue
        node.must_refs = (frozenset(refs.full), frozenset(refs.watched))


def _parse(expr):
    from pyang import xpath_parser     # builds parser tables: only when compiling a schema
    return xpath_parser.parse(expr)


def top_list(node):
    """The outermost list containing NODE (or NODE itself), None in the skeleton."""
    found = None
    while node is not None:
        if node.kind == "list":
            found = node
        node = node.parent
    return found


def simple_leafref(node):
    """The target path of NODE's leafref if it is a plain path we check by value."""
    info = node.type
    if info is None or info.base != "leafref" or info.leafref is None:
        return None
    return info.leafref


def _complex_leafref(node):
    """True if NODE has a leafref that is not a plain path (in a union, or unresolved)."""
    info = node.type
    if info is None:
        return False
    if info.base == "leafref":
        return info.leafref is None
    stack = list(info.members)
    while stack:
        member = stack.pop()
        if member.base == "leafref":
            return True
        stack.extend(member.members)
    return False


class _Global(Exception):
    pass


def _expr(tree, context, origin, schema, refs):
    """Walk an XPath parse tree, recording what paths starting at CONTEXT can reach."""
    if not isinstance(tree, tuple):
        if isinstance(tree, list):
            _path(tree, context, origin, schema, refs)
        return
    kind = tree[0]
    if kind == "absolute":
        _steps(tree[1], None, origin, schema, refs, left=True)
    elif kind == "relative":
        _steps(tree[1], context, origin, schema, refs, left=False)
    elif kind == "path_expr":
        _expr(tree[1], context, origin, schema, refs)
    elif kind == "function_call":
        if tree[1] in ("deref", "id", "lang"):
            raise _Global()
        for arg in tree[2]:
            _expr(arg, context, origin, schema, refs)
    elif kind in ("literal", "number", "var"):
        return
    else:
        for part in tree[1:]:
            if isinstance(part, (tuple, list)):
                _expr(part, context, origin, schema, refs)


def _path(items, context, origin, schema, refs):
    """A filter expression followed by steps: current()/..., (expr)/..."""
    head, steps = items[0], items[1:]
    if head == ("function_call", "current", []):
        _steps(steps, origin, origin, schema, refs, left=False)
    else:
        _expr(head, context, origin, schema, refs)
        if steps:
            raise _Global()


def _steps(steps, start, origin, schema, refs, left):
    home = top_list(origin)
    node = start
    for step in steps:
        if step[0] != "step":
            raise _Global()
        _kind, axis, test, predicates = step
        if axis == "parent":
            if node is None:
                raise _Global()
            if node is home:
                left = True
            node = node.parent
        elif axis == "child" and test[0] == "name":
            children = schema.roots if node is None else node.children
            node = children.get(test[2])
            if node is None:
                raise _Global()
            if left and node.kind == "list" and top_list(node) is node:
                refs.full.add(node.path)
        elif axis == "self":
            pass
        else:
            raise _Global()
        for pred in predicates:
            _expr(pred, node, origin, schema, refs)
    if left:
        if node is None:
            raise _Global()
        refs.watched.add(node.path)
