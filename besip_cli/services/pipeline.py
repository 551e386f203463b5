"""verify all -> generate all -> install -> reload + health check, undone on any failure."""

import os
import subprocess
import tempfile

from . import ServiceError
from .install import Installation

COMMAND_TIMEOUT = 60


def run_command(command, settings, service, what):
    """Run a reload or check COMMAND; ServiceError with the program's own output."""
    if not command:
        return
    env = dict(os.environ, BESIP_ROOT=settings.root, BESIP_SERVICE=service)
    # Output goes to a file, not a pipe: a daemon the command starts keeps its pipes open.
    # Its own session: a Ctrl-C on the shell's terminal must not kill it mid-reload.
    with tempfile.TemporaryFile() as output:
        try:
            proc = subprocess.run(["sh", "-c", command], stdin=subprocess.DEVNULL, stdout=output,
                                  stderr=subprocess.STDOUT, env=env, timeout=COMMAND_TIMEOUT,
                                  start_new_session=True)
        except subprocess.TimeoutExpired:
            raise ServiceError("%s %s timed out after %d s: %s" % (service, what, COMMAND_TIMEOUT, command))
        output.seek(0)
        text = output.read().decode(errors="replace").strip()
    if proc.returncode != 0:
        message = text.splitlines()[-1] if text else "exit status %d" % proc.returncode
        raise ServiceError("%s %s failed: %s" % (service, what, message))


def run(selected, tx):
    """Apply TX for the SELECTED service modules (dependency order)."""
    for service in selected:
        service.verify(tx)
    outputs = [(service, service.generate(tx)) for service in selected]
    installation = Installation()
    reloaded, saved = [], {}
    try:
        changed = []
        for service, files in outputs:
            if [installation.put(tx.settings.path(path), file) for path, file in files.items()].count(True):
                changed.append(service)
        for service in changed:
            if hasattr(service, "before_reload"):
                saved[service.NAME] = service.before_reload(tx)
            reloaded.append(service)
            _reload(service, tx.settings)
            if hasattr(service, "after_reload"):
                service.after_reload(tx, saved[service.NAME], tx.new)
    except (OSError, ServiceError) as exc:
        error = ServiceError("cannot install %s: %s" % (exc.filename or "file", exc.strerror or exc)) \
            if isinstance(exc, OSError) else exc
        raise _undo(installation, reloaded, tx, saved, error) from exc
    installation.done()


def _reload(service, settings):
    run_command(settings.of(service.NAME, "reload"), settings, service.NAME, "reload")
    run_command(settings.of(service.NAME, "check"), settings, service.NAME, "health check")


def _undo(installation, reloaded, tx, saved, error):
    """Put the old files back, reload and check the services already reloaded on them and
    give them back their saved state; ERROR, with what failed while restoring (the programs
    may now run neither configuration)."""
    failures = []
    try:
        installation.restore()
    except OSError as exc:
        failures.append("cannot restore %s: %s" % (exc.filename or "file", exc.strerror or exc))
    for service in reloaded:
        try:
            _reload(service, tx.settings)
            if hasattr(service, "after_reload"):
                service.after_reload(tx, saved[service.NAME], tx.old)
        except ServiceError as exc:
            failures.append(str(exc))
    if not failures:
        return error
    return ServiceError("%s; restoring the previous files failed too: %s" % (error, "; ".join(failures)))
