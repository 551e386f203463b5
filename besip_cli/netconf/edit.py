"""edit-config: the <config> element with its operation attributes applied to a tree.

Edits reuse besip_cli.datastore.tree (ensure, set_leaf, delete), so choice cases and empty
containers behave as in the shell; every value goes through Session.check_value.
"""

from ..datastore import tree as T
from ..datastore.secrets import shown_value
from .errors import RpcError
from .xmlutil import BASE_NS, instance_id, qn, split

OPERATIONS = ("merge", "replace", "create", "delete", "remove", "none")
_OP_ATTR = qn("operation")


class Editor:
    """Applies one edit-config's elements. With CONTINUE, errors are collected, not raised."""

    def __init__(self, session, keep_going=False):
        self.session = session
        self.schema = session.schema
        self.keep_going = keep_going
        self.errors = []

    def apply(self, tree, elements, default_op):
        for elem in elements:
            self._guard(self._top, tree, elem, default_op)

    def _guard(self, fn, *args):
        try:
            fn(*args)
        except RpcError as exc:
            if not self.keep_going:
                raise
            self.errors.append(exc)

    def _error(self, tag, message, path, bad=None, type=None):
        info = {"bad-element": bad} if bad else None
        return RpcError(tag, message, path=instance_id(self.schema, path), info=info, type=type)

    def _op(self, elem, inherited, path):
        """ELEM's operation: its `operation` attribute (in the base namespace or, as
        netconfd takes it, unqualified), else INHERITED. Any other attribute is refused."""
        for attr in elem.attrib:
            ns, name = split(attr)
            if name != "operation" or ns not in (BASE_NS, None):
                raise RpcError("unknown-attribute", "unknown attribute %s%s" % (name, " in %s" % ns if ns else ""),
                               path=instance_id(self.schema, path),
                               info={"bad-attribute": name, "bad-element": split(elem.tag)[1]})
        op = _operation(elem, inherited)
        if op not in OPERATIONS:
            raise RpcError("bad-attribute", "operation %r is not one of %s" % (op, ", ".join(OPERATIONS)),
                           path=instance_id(self.schema, path),
                           info={"bad-attribute": "operation", "bad-element": split(elem.tag)[1]})
        return op

    def _top(self, tree, elem, default_op):
        ns, name = split(elem.tag)
        node = self.schema.roots.get(name)
        if node is None or not node.config or ns != self.schema.namespace(node.module):
            raise self._error("unknown-element", "unknown element %s" % name, (name,), bad=name)
        self._node(tree, node, elem, (), default_op, ns)

    def _node(self, tree, node, elem, parent_path, inherited, ns):
        """Apply ELEM (an instance of schema NODE) under data path PARENT_PATH."""
        if node.kind == "list":
            path = parent_path + ((node.name, self._entry_key(node, elem, parent_path)),)
        else:
            path = parent_path + (node.name,)
        op = self._op(elem, inherited, path)
        if node.kind == "leaf-list":
            return self._leaf_list(tree, node, elem, parent_path, op)
        if node.kind == "leaf":
            return self._leaf(tree, node, elem, parent_path, op)
        exists = T.get(tree, path) is not None
        if op == "create" and exists:
            raise self._error("data-exists", "%s already exists" % T.format_path(path), path,
                              bad=node.name)
        if op in ("delete", "remove"):
            return self._remove(tree, node, path, op, exists)
        if op == "replace" and exists:
            T.delete(tree, self.schema, path)
        if op == "none" and not exists and not _has_content(elem):
            return self._known(node, elem, path, ns)
        T.ensure(tree, self.schema, path)
        child_op = "merge" if op in ("replace", "create") else op
        for child_elem in elem:
            child = self._child(node, child_elem, path, ns)
            name = child.name
            if node.kind == "list" and name in node.keys:
                continue
            self._guard(self._node, tree, child, child_elem, path, child_op, ns)
        T.prune(tree, self.schema, path)

    def _child(self, node, elem, path, ns):
        """The schema child of NODE that ELEM (in namespace NS, under data path PATH) is."""
        child_ns, name = split(elem.tag)
        child = node.children.get(name)
        if child is None or not child.config or child_ns != ns:
            raise self._error("unknown-element", "unknown element %s in %s" % (name, node.name),
                              path + (name,), bad=name)
        return child

    def _known(self, node, elem, path, ns):
        """Refuse unknown elements below ELEM, which changes nothing (operation none)."""
        for child_elem in elem:
            child = self._child(node, child_elem, path, ns)
            if child.kind in ("container", "list"):
                self._known(child, child_elem, path + (child.name,), ns)

    def _entry_key(self, node, elem, parent_path):
        values = {}
        for child_elem in elem:
            name = split(child_elem.tag)[1]
            if name in node.keys:
                values[name] = self._value(node.children[name], child_elem,
                                           parent_path + (node.name,))
        missing = [k for k in node.keys if k not in values]
        if missing:
            raise RpcError("missing-element", "%s entry without its key %s" % (node.name, missing[0]),
                           path=instance_id(self.schema, parent_path + (node.name,)),
                           info={"bad-element": missing[0]})
        return T.entry_key(node, values)

    def _value(self, node, elem, path):
        if len(elem):
            raise self._error("bad-element", "%s takes a value, not elements" % node.name,
                              path + (node.name,), bad=node.name)
        raw = "" if node.type.base == "empty" else (elem.text or "")
        if node.type.base != "string":
            raw = raw.strip()
        try:
            return self.session.check_value(node, raw)
        except ValueError as exc:
            raise self._error("invalid-value", "%s: %s" % (node.name, shown_value(node, raw, exc)[1]),
                              path + (node.name,), bad=node.name)

    def _remove(self, tree, node, path, op, exists):
        """`delete` (data-missing when absent) or `remove` (quiet) of the node at PATH."""
        if op == "delete" and not exists:
            raise self._error("data-missing", "%s does not exist" % T.format_path(path), path,
                              bad=node.name)
        T.delete(tree, self.schema, path)

    def _leaf(self, tree, node, elem, parent_path, op):
        path = parent_path + (node.name,)
        parent = T.get(tree, parent_path) if parent_path else tree
        exists = parent is not None and node.name in parent
        if op in ("delete", "remove"):
            return self._remove(tree, node, path, op, exists)
        value = self._value(node, elem, parent_path)
        if op == "create" and exists:
            raise self._error("data-exists", "%s already exists" % T.format_path(path), path,
                              bad=node.name)
        if op != "none":
            T.set_leaf(tree, self.schema, parent_path, node, value)

    def _leaf_list(self, tree, node, elem, parent_path, op):
        path = parent_path + (node.name,)
        value = self._value(node, elem, parent_path)
        current = (T.get(tree, parent_path) if parent_path else tree) or {}
        exists = value in current.get(node.name, [])
        if op in ("delete", "remove"):
            if op == "delete" and not exists:
                raise self._error("data-missing", "%s %s does not exist" % (T.format_path(path), value),
                                  path, bad=node.name)
            T.delete(tree, self.schema, path, value=value)
            return
        if op == "create" and exists:
            raise self._error("data-exists", "%s %s already exists" % (T.format_path(path), value),
                              path, bad=node.name)
        if op != "none":
            try:
                T.set_leaf(tree, self.schema, parent_path, node, [value])
            except T.EditError as exc:
                raise self._error(exc.tag, str(exc), path, bad=node.name)


def _operation(elem, inherited):
    return elem.get(_OP_ATTR) or elem.get("operation") or inherited


def _has_content(elem):
    """Whether ELEM (under operation none) asks for anything below it to change."""
    return any(_operation(child, "none") != "none" or _has_content(child) for child in elem)
