"""Running command lines from a file or from -c: all or nothing.

A script's `configure` edits a private candidate, as in the shell. At its first error it
prints `FILE:LINE: % message` on stderr and leaves running as it was before the script
ran (the changes of a commit it had made are undone by a restoring commit). A script that
ends in configuration mode with uncommitted changes has them discarded, with a warning.
A script file is of a configuration format version, as saved files are (migrations/): an
older one is brought up to date before it runs, a newer one is refused.
"""

import itertools

from ..datastore import migrations
from .interp import CliError, Interpreter, Leave
from .masking import mask_at


def run(session, lines, out, err, guard=None):
    """Run LINES [(source, number, text)]; the process exit status. GUARD() may refuse
    configuration mode (raising CliError)."""
    try:
        lines = _upgraded(lines)
    except migrations.MigrationError as exc:
        err.write("%s: %% %s\n" % (exc.args[1], exc.args[0]))
        return 1
    interp = Interpreter(session, out)
    before = {}

    def enter():
        if guard is not None:
            guard()
        before.setdefault("running", session.running)
        before.setdefault("revision", session.revision)
    interp.on_configure = enter
    with session.batch():
        for source, number, text in lines:
            try:
                interp.execute(text)
            except Leave:
                break
            except CliError as exc:
                report(err, "%s:%d: " % (source, number), text, exc, interp.secret_names)
                session.batch_dirty = False     # `configure shared`: store none of its edits
                if before and session.revision != before["revision"]:
                    session.undo(before["running"], "restore after %s:%d failed" % (source, number))
                return 1
    if interp.mode is not None and session.private and session.dirty():
        err.write("% Uncommitted changes were discarded: the script ended in configuration "
                  "mode without 'commit'.\n")
    return 0


def _upgraded(lines):
    """LINES with each file's text migrated to the current format (-c lines as they are);
    MigrationError(message, source) for a file of a newer or invalid version."""
    out = []
    for source, group in itertools.groupby(lines, key=lambda line: line[0]):
        group = list(group)
        if source == "-c":
            out.extend(group)
            continue
        try:
            text = migrations.upgrade("\n".join(text for _s, _n, text in group))
        except migrations.MigrationError as exc:
            raise migrations.MigrationError(str(exc), source)
        out.extend((source, number, text) for number, text in
                   zip(itertools.count(group[0][1]), text.split("\n")))
    return out


def report(err, prefix, text, exc, secret_names):
    """Print an error the IOS way: the line (its secrets masked), a caret under the
    offending column, the message."""
    if exc.pos is not None:
        text, pos = mask_at(text, secret_names, exc.pos)
        err.write("%s%s\n" % (prefix, text.rstrip()))
        err.write(" " * (len(prefix) + pos) + "^\n")
    for line in exc.lines():
        err.write("%s%s\n" % (prefix, line))
