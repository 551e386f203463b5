"""Running command lines from a file or from -c: all or nothing.

A script's `configure` edits a private candidate, as in the shell. At its first error it
prints `FILE:LINE: % message` on stderr and leaves running as it was before the script
ran (the changes of a commit it had made are undone by a restoring commit). A script that
ends in configuration mode with uncommitted changes has them discarded, with a warning.
"""

from .interp import CliError, Interpreter, Leave
from .masking import mask_at


def run(session, lines, out, err, guard=None):
    """Run LINES [(source, number, text)]; the process exit status. GUARD() may refuse
    configuration mode (raising CliError)."""
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


def report(err, prefix, text, exc, secret_names):
    """Print an error the IOS way: the line (its secrets masked), a caret under the
    offending column, the message."""
    if exc.pos is not None:
        text, pos = mask_at(text, secret_names, exc.pos)
        err.write("%s%s\n" % (prefix, text.rstrip()))
        err.write(" " * (len(prefix) + pos) + "^\n")
    for line in exc.lines():
        err.write("%s%s\n" % (prefix, line))
