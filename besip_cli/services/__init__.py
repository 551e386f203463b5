"""The service pipeline that turns a committed configuration into the programs' files.

Contract (VyOS style, see DESIGN.md): for each service whose subtree changed,
get_config -> verify -> generate -> apply. Every service is verified before any file is
written; files are installed atomically one by one, then each service's reload command
and health check run; if anything fails, every replaced file is restored (and the
services already reloaded are reloaded again on the old files), the commit is refused
with the failing program's own message and running stays as it was. `apply_commit` is
called by the datastore inside every commit, confirmed-commit revert and rollback, after
validation and before anything is stored.
"""

import importlib

from ..schema.defaults import filled
from .errors import ServiceError
from .pipeline import run
from .settings import Settings
from .transaction import Transaction


# Service modules, by name. Each has NAME, SUBTREES (top-level nodes it reads), AFTER
# (services it must be applied after), verify(tx) and generate(tx) -> {path under the
# target root: File or None (remove)}, tx being a transaction.Transaction; optionally
# before_reload(tx) -> saved and after_reload(tx, saved, running) around its reload command, and
# state(settings) -> the `config false` data it reports (for `show` and NETCONF <get>).
SERVICE_MODULES = ("uci_system", "uci_network", "uci_besip", "ips", "monitoring", "kamailio", "asterisk")


def services():
    """The service modules in dependency order (AFTER before the service)."""
    mods = {m.NAME: m for m in (importlib.import_module("." + n, __name__) for n in SERVICE_MODULES)}
    ordered, seen = [], set()

    def visit(name, trail=()):
        if name in seen:
            return
        if name in trail:
            raise ServiceError("service dependency cycle: %s" % " -> ".join(trail + (name,)))
        for dep in mods[name].AFTER:
            visit(dep, trail + (name,))
        seen.add(name)
        ordered.append(mods[name])

    for name in mods:
        visit(name)
    return ordered


def touched(changes):
    """Names of the top-level nodes CHANGES touch."""
    return {c.path[0][0] if isinstance(c.path[0], tuple) else c.path[0] for c in changes}


def _selected(old, new, changes, schema, directory):
    """The services whose subtree CHANGES (from OLD to NEW) touch, and their Transaction
    with the settings of the data DIRECTORY (None if no service is touched)."""
    roots = touched(changes)
    selected = [s for s in services() if roots & set(s.SUBTREES)]
    if not selected:
        return [], None
    return selected, Transaction(filled(old, schema.roots, True, lazy=True),
                                 filled(new, schema.roots, True, lazy=True),
                                 tuple(changes), Settings(directory))


def apply_commit(old, new, changes, schema, directory):
    """Run every service whose subtree CHANGES (from OLD to NEW) touch; raise
    ServiceError to refuse."""
    selected, tx = _selected(old, new, changes, schema, directory)
    if selected:
        run(selected, tx)


def verify_commit(old, new, changes, schema, directory):
    """Only the verify step of apply_commit (for `commit check`): nothing is written."""
    selected, tx = _selected(old, new, changes, schema, directory)
    for service in selected:
        service.verify(tx)


def operational_state(directory, strict=False, root=None):
    """The `config false` data of every service's state hook (of ROOT's only: the
    top-level node a hook's STATE_ROOT names), merged into one tree. A service whose
    program does not answer adds nothing, or (STRICT) raises ServiceError."""
    settings = Settings(directory)
    out = {}
    for service in services():
        if hasattr(service, "state") and root in (None, service.STATE_ROOT):
            try:
                out = merged(out, service.state(settings))
            except ServiceError:
                if strict:
                    raise
    return out


def merged(tree, extra):
    """A copy of TREE with the nodes of EXTRA added (TREE itself is not changed)."""
    out = dict(tree)
    for name, value in extra.items():
        both = isinstance(value, dict) and isinstance(out.get(name), dict)
        out[name] = merged(out[name], value) if both else value
    return out
