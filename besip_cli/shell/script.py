"""Running command lines from a file or from -c: all or nothing.

From its first `configure` a script holds the candidate lock. At its first error it prints
`FILE:LINE: % message` on stderr and leaves candidate and running exactly as they were
before it ran (a commit it had made is undone by a restoring commit).
"""

import contextlib

from ..datastore import tree as T
from ..datastore.store import StoreError
from .interp import CliError, Interpreter, Leave
from .masking import mask_at


def run(session, lines, out, err, guard=None):
    """Run LINES [(source, number, text)]; the process exit status. GUARD() may refuse
    configuration mode (raising CliError)."""
    interp = Interpreter(session, out)
    before = {}

    def take_lock():
        if guard is not None:
            guard()
        if not before:
            if not session.holds("candidate"):
                session.lock("candidate", force_dirty=True)
            before.update(candidate=T.copy_tree(session.candidate),
                          running=T.copy_tree(session.running), revision=session.revision)
    interp.on_configure = take_lock
    try:
        with session.batch():
            for source, number, text in lines:
                try:
                    interp.execute(text)
                except Leave:
                    break
                except CliError as exc:
                    report(err, "%s:%d: " % (source, number), text, exc, interp.secret_names)
                    if before:
                        _restore(session, before, "%s:%d" % (source, number))
                    return 1
        return 0
    finally:
        if before:
            with contextlib.suppress(StoreError):   # a full disk: the lock dies with us
                if session.holds("candidate"):
                    session.unlock("candidate")


def _restore(session, before, where):
    session.batch_dirty = False
    if session.revision != before["revision"]:
        session.install(before["running"], "restore after %s failed" % where)
    session.candidate = before["candidate"]
    session.store_candidate()


def report(err, prefix, text, exc, secret_names):
    """Print an error the IOS way: the line (its secrets masked), a caret under the
    offending column, the message."""
    if exc.pos is not None:
        text, pos = mask_at(text, secret_names, exc.pos)
        err.write("%s%s\n" % (prefix, text.rstrip()))
        err.write(" " * (len(prefix) + pos) + "^\n")
    for line in exc.lines():
        err.write("%s%s\n" % (prefix, line))
