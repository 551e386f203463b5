"""Leaf values checked by libyang as they are typed, and schema-level validation contexts."""

import os

from ..schema import module_files


class ValueError_(ValueError):
    """A value refused by its type; str() is a sentence for the user."""


class Engine:
    """A libyang context holding our modules (loaded lazily: only edits and commits need it)."""

    def __init__(self, schema):
        import libyang
        self.libyang = libyang
        self.schema = schema
        from _libyang import lib, ffi
        lib.ly_set_log_clb(ffi.NULL, True)     # keep the data path of each error
        self.ctx = libyang.Context(schema.directory)
        for path in module_files(schema.directory):
            name = os.path.basename(path)[:-5].split("@")[0]
            self.ctx.load_module(name)
        self._snodes = {}

    def snode(self, node):
        snode = self._snodes.get(node.path)
        if snode is None:
            root = self.schema.roots[node.path[0]]
            xpath = "/%s:%s" % (root.module, "/".join(node.path))
            snode = self._snodes[node.path] = next(self.ctx.find_path(xpath))
        return snode

    def check(self, node, text):
        """The canonical form of TEXT for leaf NODE, or ValueError_ naming the rule broken."""
        from libyang.util import c2str, str2c
        from _libyang import lib, ffi
        data = text.encode("utf-8")
        canonical = ffi.new("char **")
        ret = lib.lyd_value_validate(self.ctx.cdata, self.snode(node).cdata, str2c(text),
                                     len(data), ffi.NULL, ffi.NULL, canonical)
        if ret in (lib.LY_SUCCESS, lib.LY_EINCOMPLETE):
            return c2str(canonical[0]) if canonical[0] != ffi.NULL else text
        message = self.last_error() or "invalid value"
        allowed = self.snode(node).type().range()
        if allowed and ("range" in message or "bounds" in message):
            message += " Allowed range: %s." % allowed
        raise ValueError_(message)

    def parse_errors(self, json_text):
        """Problems libyang finds parsing and validating a whole configuration (RFC 7951
        JSON text) as (message, data path, app tag); an empty list when it is valid."""
        from _libyang import lib, ffi
        tree = ffi.new("struct lyd_node **")
        ret = lib.lyd_parse_data_mem(self.ctx.cdata, json_text.encode("utf-8"), lib.LYD_JSON,
                                     lib.LYD_PARSE_STRICT | lib.LYD_PARSE_NO_STATE,
                                     lib.LYD_VALIDATE_NO_STATE, tree)
        if tree[0] != ffi.NULL:
            lib.lyd_free_all(tree[0])
        errors = self.errors()
        if ret == lib.LY_SUCCESS:
            return []
        return errors or [("invalid configuration", None, None)]

    def last_error(self):
        """Message of libyang's last error (clearing the error list)."""
        found = self.errors()
        return found[-1][0] if found else None

    def errors(self):
        """All pending libyang errors as (message, data path, app tag); clears them."""
        from libyang.util import c2str
        from _libyang import lib, ffi
        found = []
        err = lib.ly_err_first(self.ctx.cdata)
        while err != ffi.NULL:
            found.append((c2str(err.msg) if err.msg else "invalid data",
                          c2str(err.path) if err.path else None,
                          c2str(err.apptag) if err.apptag else None))
            err = err.next
        lib.ly_err_clean(self.ctx.cdata, ffi.NULL)
        return found


_engines = {}


def engine(schema):
    if schema.digest not in _engines:
        _engines[schema.digest] = Engine(schema)
    return _engines[schema.digest]
