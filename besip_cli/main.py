"""`besip`: the shell, a script runner (-f FILE) and one-shot commands (-c LINE)."""

import argparse
import os
import sys

from . import __version__
from .datastore.session import DatastoreError, Session, default_directory
from .datastore.store import StoreError
from .schema.compile import SchemaError
from .shell import access, script

BOM = "\ufeff"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="besip", description="BESIP configuration shell")
    parser.add_argument("-c", dest="commands", action="append", metavar="LINE",
                        help="run LINE (as typed in the shell, from exec mode); repeatable")
    parser.add_argument("-f", dest="file", metavar="FILE", help="run the lines of FILE ('-': stdin)")
    parser.add_argument("--datastore", metavar="DIR",
                        help="data directory (default: $BESIP_HOME or ~/.local/share/besip)")
    parser.add_argument("--version", action="version", version="besip %s" % __version__)
    parser.add_argument("--recover", action="store_true",
                        help="after damage: make the newest intact commit running again")
    return parser.parse_args(argv)


def recover(directory):
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


def _lines(args):
    lines = []
    if args.file:
        try:
            handle = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
            with handle:
                lines.extend((args.file, n, text.rstrip("\n")) for n, text in enumerate(handle, 1))
            if lines and lines[0][2].startswith(BOM):        # written by a Windows editor
                lines[0] = lines[0][:2] + (lines[0][2][len(BOM):],)
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError("cannot read %s: %s" % (args.file, getattr(exc, "strerror", exc)))
    for n, text in enumerate(args.commands or (), 1):
        lines.append(("-c", n, text))
    return lines


def _client():
    """How this process was reached: over SSH (login shell, ForceCommand) or locally."""
    connection = os.environ.get("SSH_CONNECTION", "").split()
    if connection:
        return {"client": "ssh", "peer": " ".join(connection[:2])}
    return {"client": "cli"}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.recover:
            return recover(args.datastore)
        session = Session(args.datastore, **_client())
    except (StoreError, DatastoreError, SchemaError) as exc:
        sys.stderr.write("%% %s\n" % exc)
        return 2
    if session.store.created and (args.datastore or os.environ.get("BESIP_HOME")):
        sys.stderr.write("besip: creating a new datastore in %s\n" % session.directory)
    if not (args.file or args.commands) and os.environ.get("SSH_ORIGINAL_COMMAND"):
        args.commands = [os.environ["SSH_ORIGINAL_COMMAND"]]     # `ssh box CMD` under ForceCommand
    try:
        interactive = not (args.file or args.commands or not sys.stdin.isatty())
        role = access.role(session)
        if role is None and (interactive or access.over_ssh()):
            sys.stderr.write("%% Permission denied: %s is not a user of this system.\n" % session.user)
            return 1
        if not interactive:
            args.file = args.file or (None if args.commands else "-")
            guard = None
            if access.over_ssh():               # `ssh box 'show ...'` to a login shell / ForceCommand
                guard = access.configure_guard(session, role)
            return script.run(session, _lines(args), sys.stdout, sys.stderr, guard)
        from .shell.terminal import Shell
        return Shell(session, role).loop()
    except StoreError as exc:
        sys.stderr.write("%% %s\n" % exc)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        session.close()


if __name__ == "__main__":
    sys.exit(main())
