"""The schema: YANG modules compiled once by pyang and cached by content hash."""

import glob
import hashlib
import os
import pickle
import sys

from ..fsutil import write_atomic
from .node import Schema, SchemaNode, TypeInfo  # noqa: F401  (re-exported)

_HERE = os.path.dirname(os.path.abspath(__file__))


def yang_dir():
    """Where the product's YANG modules are: BESIP_YANG, the source tree, or the install."""
    for candidate in (os.environ.get("BESIP_YANG"),
                      os.path.join(_HERE, "..", "..", "yang"),
                      os.path.join(sys.prefix, "share", "besip", "yang")):
        if candidate and glob.glob(os.path.join(candidate, "*.yang")):
            return os.path.normpath(candidate)
    raise FileNotFoundError("no YANG modules found (set BESIP_YANG)")


def module_files(directory=None):
    return sorted(glob.glob(os.path.join(directory or yang_dir(), "*.yang")))


def _digest(files):
    digest = hashlib.sha256()
    for path in files + [os.path.join(_HERE, name) for name in ("compile.py", "node.py", "xpathdeps.py")]:
        digest.update(os.path.basename(path).encode())
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:20]


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "besip")


_loaded = {}


def load(directory=None):
    """The compiled Schema of the modules in DIRECTORY, from the cache when it is current."""
    files = module_files(directory)
    digest = _digest(files)
    if digest in _loaded:
        return _loaded[digest]
    path = os.path.join(cache_dir(), "schema-%s.pickle" % digest)
    schema = None
    try:
        with open(path, "rb") as handle:
            schema = pickle.load(handle)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError):
        schema = None
    if not isinstance(schema, Schema) or schema.digest != digest:
        from .compile import compile_modules
        schema = compile_modules(files, digest)
        _store(path, schema)
    schema.directory = os.path.dirname(files[0])
    _loaded[digest] = schema
    return schema


def _store(path, schema):
    """Write the cache atomically; a read-only cache directory only costs speed."""
    try:
        write_atomic(path, pickle.dumps(schema, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass
