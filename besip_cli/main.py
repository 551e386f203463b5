"""`besip`: the shell, a script runner (-f FILE) and one-shot commands (-c LINE)."""

import os
import sys

import click

from . import audit
from .command_line import program, run
from .datastore.session import DatastoreError, Session, default_directory
from .datastore.store import StoreError
from .schema.compile import SchemaError
from .shell import access, script

BOM = "\ufeff"


def recover_datastore(directory):
    from . import schema
    from .datastore.store import Store
    store = Store(directory or default_directory(), schema.load())
    try:
        commit_id, damaged = store.recover()
    finally:
        store.close()
    for message in damaged:
        sys.stderr.write("%% Skipped: %s\n" % message)
    if commit_id:
        print("Running and candidate restored from commit %d." % commit_id)
    else:
        print("No intact commit was found: the configuration is now empty.")
    return 0


def _lines(file, commands):
    lines = []
    if file:
        try:
            handle = sys.stdin if file == "-" else open(file, encoding="utf-8")
            with handle:
                lines.extend((file, n, text.rstrip("\n")) for n, text in enumerate(handle, 1))
            if lines and lines[0][2].startswith(BOM):        # written by a Windows editor
                lines[0] = lines[0][:2] + (lines[0][2][len(BOM):],)
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError("cannot read %s: %s" % (file, getattr(exc, "strerror", exc)))
    for n, text in enumerate(commands, 1):
        lines.append(("-c", n, text))
    return lines


def _client():
    """How this process was reached: over SSH (login shell, ForceCommand) or locally."""
    connection = os.environ.get("SSH_CONNECTION", "").split()
    if connection:
        return {"client": "ssh", "peer": " ".join(connection[:2])}
    return {"client": "cli"}


def _how(file, commands, interactive):
    """What this run is, for the audit trail."""
    if interactive:
        return "interactive shell"
    return "command" if commands and not file else "script %s" % (file or "-")


@program("besip")
@click.option("-c", "commands", multiple=True, metavar="LINE",
              help="Run LINE as typed in the shell, starting in exec mode; repeatable.")
@click.option("-f", "file", metavar="FILE", help="Run the lines of FILE ('-': standard input).")
@click.option("--recover", is_flag=True,
              help="After damage: make the newest intact commit running again.")
def command(datastore, commands, file, recover):
    """BESIP configuration shell.

    On a terminal and without -c/-f: the interactive shell. With -c or -f, or with standard
    input not a terminal: the lines run as a script, all or nothing (the first error stops
    it and undoes its changes). Over SSH (login shell or ForceCommand), `ssh box LINE`
    runs LINE."""
    try:
        if recover:
            return recover_datastore(datastore)
        session = Session(datastore, **_client())
    except (StoreError, DatastoreError, SchemaError) as exc:
        sys.stderr.write("%% %s\n" % exc)
        return 2
    if session.store.created and (datastore or os.environ.get("BESIP_HOME")):
        sys.stderr.write("besip: creating a new datastore in %s\n" % session.directory)
    if not (file or commands) and os.environ.get("SSH_ORIGINAL_COMMAND"):
        commands = [os.environ["SSH_ORIGINAL_COMMAND"]]     # `ssh box CMD` under ForceCommand
    try:
        interactive = not (file or commands or not sys.stdin.isatty())
        role = access.role(session)
        refused = role is None and (interactive or access.over_ssh())
        audit.login(session, role, _how(file, commands, interactive), refused)
        if refused:
            sys.stderr.write("%% Permission denied: %s is not a user of this system.\n" % session.user)
            return 1
        if not interactive:
            file = file or (None if commands else "-")
            guard = None
            if access.over_ssh():               # `ssh box 'show ...'` to a login shell / ForceCommand
                guard = access.configure_guard(session, role)
            return script.run(session, _lines(file, commands), sys.stdout, sys.stderr, guard)
        from .shell.terminal import Shell
        return Shell(session, role).loop()
    except StoreError as exc:
        sys.stderr.write("%% %s\n" % exc)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        session.close()


def main(argv=None):
    return run(command, argv)


if __name__ == "__main__":
    sys.exit(main())
