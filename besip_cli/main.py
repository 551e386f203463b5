"""`besip`: the shell, a script runner (-f FILE) and one-shot commands (-c LINE)."""

import argparse
import sys

from .datastore.session import DatastoreError, Session, default_directory
from .datastore.store import StoreError
from .schema.compile import SchemaError
from .shell import script


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="besip", description="BESIP configuration shell")
    parser.add_argument("-c", dest="commands", action="append", metavar="LINE",
                        help="run LINE (as typed in the shell, from exec mode); repeatable")
    parser.add_argument("-f", dest="file", metavar="FILE", help="run the lines of FILE ('-': stdin)")
    parser.add_argument("--datastore", metavar="DIR",
                        help="data directory (default: $BESIP_HOME or ~/.local/share/besip)")
    parser.add_argument("--recover", action="store_true",
                        help="after damage: make the newest intact commit running again")
    return parser.parse_args(argv)


def recover(directory):
    from . import schema
    from .datastore.store import Store
    store = Store(directory or default_directory(), schema.load())
    try:
        commit_id = store.recover()
    finally:
        store.close()
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
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError("cannot read %s: %s" % (args.file, getattr(exc, "strerror", exc)))
    for n, text in enumerate(args.commands or (), 1):
        lines.append(("-c", n, text))
    return lines


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.recover:
            return recover(args.datastore)
        session = Session(args.datastore)
    except (StoreError, DatastoreError, SchemaError) as exc:
        sys.stderr.write("%% %s\n" % exc)
        return 2
    try:
        if args.file or args.commands:
            return script.run(session, _lines(args), sys.stdout, sys.stderr)
        from .shell.repl import interactive
        return interactive(session)
    except StoreError as exc:
        sys.stderr.write("%% %s\n" % exc)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        session.close()


if __name__ == "__main__":
    sys.exit(main())
