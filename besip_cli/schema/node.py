"""The compiled schema: a compact tree of plain objects, built once from YANG by pyang."""

INT_BASES = ("int8", "int16", "int32", "uint8", "uint16", "uint32")


class TypeInfo:
    """What the shell and the encoders need to know about a leaf's type."""

    __slots__ = ("base", "name", "hint", "enums", "members", "leafref", "require_instance")

    def __init__(self, base, name=None, hint="", enums=(), members=(), leafref=None,
                 require_instance=True):
        self.base = base                  # YANG built-in type after typedef resolution
        self.name = name                  # the typedef's qualified name, if any
        self.hint = hint                  # placeholder for help: <1-65535>, A.B.C.D ...
        self.enums = tuple(enums)         # ((name, description), ...) of an enumeration
        self.members = tuple(members)     # TypeInfo of each union member
        self.leafref = leafref            # absolute schema path (tuple of names) of the target
        self.require_instance = require_instance

    def json_kind(self, value):
        """How RFC 7951 encodes VALUE of this type: 'number', 'bool', 'empty' or 'string'."""
        if self.base in INT_BASES:
            return "number"
        if self.base == "boolean":
            return "bool"
        if self.base == "empty":
            return "empty"
        if self.base == "union":
            for member in self.members:
                kind = member.json_kind(value)
                if kind == "number" and _is_int(value):
                    return kind
                if kind == "bool" and value in ("true", "false"):
                    return kind
                if kind == "string" and member.base not in ("enumeration",):
                    return kind
        return "string"


def _is_int(text):
    return text.lstrip("-").isdigit()


class SchemaNode:
    """One data node of the schema (choice and case are flattened into `choice`)."""

    __slots__ = ("kind", "name", "module", "description", "help", "parent", "children", "keys",
                 "type", "default", "mandatory", "presence", "config", "user_ordered",
                 "min_elements", "max_elements", "units", "secret", "choice", "default_cases", "constraints",
                 "unique", "must_refs", "config_children", "keywords")

    def __init__(self, kind, name, module, parent=None):
        self.kind = kind                  # container | list | leaf | leaf-list
        self.name = name
        self.module = module              # name of the module that defines the node
        self.description = ""
        self.help = ""                    # the description's first sentence: what `?` shows
        self.parent = parent
        self.children = {}                # name -> SchemaNode, in schema order
        self.keys = ()                    # list key leaf names
        self.type = None                  # TypeInfo of a leaf or leaf-list
        self.default = None               # default value(s), canonical text
        self.mandatory = False
        self.presence = False
        self.config = True
        self.user_ordered = False
        self.min_elements = 0
        self.max_elements = None
        self.units = None
        self.secret = None                # None | "hash" | "encrypt"  (besip-extensions)
        self.choice = ()                  # ((choice, case), ...) from outermost to innermost
        self.default_cases = ()           # each of those choices' default case (or None)
        self.constraints = False          # has must/when/leafref: libyang must see it
        self.unique = ()                  # tuples of descendant leaf names
        self.must_refs = None             # lists whose every entry a constraint here reads
        self.config_children = {}         # children that are configuration, by name
        self.keywords = {}                # their names -> help, for the command language

    @property
    def path(self):
        """Schema path as a tuple of node names from the root."""
        names = []
        node = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return tuple(reversed(names))

    def is_leafish(self):
        return self.kind in ("leaf", "leaf-list")

    def __repr__(self):
        return "<%s %s>" % (self.kind, "/".join(self.path))


class Schema:
    """The compiled modules: root nodes by name plus module metadata."""

    def __init__(self, roots, modules, digest):
        self.roots = roots                # name -> SchemaNode (top-level data nodes)
        self.modules = modules            # [{name, revision, namespace, prefix, file}]
        self.digest = digest              # content hash of the YANG sources
        self.config_roots = {n: r for n, r in roots.items() if r.config}
        self.keywords = {n: r.help for n, r in self.config_roots.items()}

    def namespace(self, module):
        for info in self.modules:
            if info["name"] == module:
                return info["namespace"]
        raise KeyError(module)

    def module_of_namespace(self, namespace):
        for info in self.modules:
            if info["namespace"] == namespace:
                return info["name"]
        return None

    def find(self, path):
        """The node at a schema path (tuple of names), or None."""
        children = self.roots
        node = None
        for name in path:
            node = children.get(name)
            if node is None:
                return None
            children = node.children
        return node

    def walk(self):
        stack = list(self.roots.values())
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.children.values())
