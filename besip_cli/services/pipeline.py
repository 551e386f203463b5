"""verify all -> generate all -> install -> reload + health check, undone on any failure."""

import os
import subprocess
import tempfile

from . import ServiceError
from .install import Installation
from .settings import Settings

COMMAND_TIMEOUT = 60


def with_defaults(data, children):
    """A copy of DATA with the schema defaults of absent leaves filled in (containers
    without presence are entered so their defaults appear too; absent leaf-lists are [])."""
    out = {}
    for name, node in children.items():
        if not node.config:
            continue
        value = data.get(name)
        if node.kind == "list":
            out[name] = {k: with_defaults(e, node.children) for k, e in (value or {}).items()}
        elif node.kind == "container":
            if value is None and node.presence:
                continue
            out[name] = with_defaults(value or {}, node.children)
        elif value is not None:
            out[name] = value
        elif node.kind == "leaf-list":
            out[name] = list(node.default or [])
        elif node.default is not None and not _other_case_set(data, node):
            out[name] = node.default
    return out


def _other_case_set(data, node):
    """True if a sibling from another case of NODE's choice is present."""
    if not node.choice:
        return False
    choice, case = node.choice[-1]
    for sibling in node.parent.children.values() if node.parent else ():
        if sibling.choice and sibling.choice[-1][0] == choice and sibling.choice[-1][1] != case \
                and sibling.name in data:
            return True
    return False


class Context:
    """What a service sees besides its configuration: settings and the session."""

    def __init__(self, settings, session):
        self.settings = settings
        self.session = session


def run_command(command, settings, service, what):
    """Run a reload or check COMMAND; ServiceError with the program's own output."""
    if not command:
        return
    env = dict(os.environ, BESIP_ROOT=settings.root, BESIP_SERVICE=service)
    # Output goes to a file, not a pipe: a daemon the command starts keeps its pipes open.
    with tempfile.TemporaryFile() as output:
        try:
            proc = subprocess.run(["sh", "-c", command], stdin=subprocess.DEVNULL, stdout=output,
                                  stderr=subprocess.STDOUT, env=env, timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ServiceError("%s %s timed out after %d s: %s" % (service, what, COMMAND_TIMEOUT, command))
        output.seek(0)
        text = output.read().decode(errors="replace").strip()
    if proc.returncode != 0:
        message = text.splitlines()[-1] if text else "exit status %d" % proc.returncode
        raise ServiceError("%s %s failed: %s" % (service, what, message))


def run(selected, new, session):
    """Apply NEW for the SELECTED service modules (dependency order)."""
    if not selected:
        return
    settings = Settings(session.directory)
    ctx = Context(settings, session)
    config = with_defaults(new, session.schema.roots)
    for service in selected:
        service.verify(config, ctx)
    outputs = [(service, service.generate(config, ctx)) for service in selected]
    installation = Installation()
    reloaded = []
    try:
        changed = []
        for service, files in outputs:
            if [installation.put(settings.path(path), file) for path, file in files.items()].count(True):
                changed.append(service)
        for service in changed:
            if hasattr(service, "before_reload"):
                service.before_reload(ctx)
            reloaded.append(service)
            run_command(settings.of(service.NAME, "reload"), settings, service.NAME, "reload")
            run_command(settings.of(service.NAME, "check"), settings, service.NAME, "health check")
            if hasattr(service, "after_reload"):
                service.after_reload(ctx, config)
    except (OSError, ServiceError) as exc:
        installation.restore()
        for service in reloaded:
            try:
                run_command(settings.of(service.NAME, "reload"), settings, service.NAME, "reload")
                run_command(settings.of(service.NAME, "check"), settings, service.NAME, "health check")
                if hasattr(service, "after_reload"):
                    service.after_reload(ctx, None)
            except ServiceError:
                pass     # the first error is the one to report
        if isinstance(exc, OSError):
            raise ServiceError("cannot install %s: %s" % (exc.filename or "file", exc.strerror or exc))
        raise
