"""Running command lines from a file or from -c: all or nothing.

A script holds the candidate lock while it runs. At its first error it prints
`FILE:LINE: % message` on stderr and leaves candidate and running exactly as they were
before it ran (a commit it had made is undone by a restoring commit).
"""

from ..datastore import tree as T
from ..datastore.session import DatastoreError
from .interp import CliError, Interpreter, Leave


def run(session, lines, out, err):
    """Run LINES [(source, number, text)]; the process exit status."""
    interp = Interpreter(session, out)
    try:
        session.lock("candidate", force_dirty=True)
    except DatastoreError as exc:
        err.write("%% %s\n" % exc)
        return 1
    before_candidate = T.copy_tree(session.candidate)
    before_running, before_revision = T.copy_tree(session.running), session.revision
    try:
        with session.batch():
            for source, number, text in lines:
                stripped = text.strip()
                if not stripped or stripped[0] in "!#":
                    continue
                try:
                    interp.execute(text)
                except Leave:
                    break
                except CliError as exc:
                    report(err, "%s:%d: " % (source, number), text, exc)
                    session.candidate = before_candidate
                    session.batch_dirty = False
                    _restore(session, before_running, before_revision, before_candidate,
                             source, number)
                    return 1
        return 0
    finally:
        try:
            session.unlock("candidate")
        except DatastoreError:
            pass


def _restore(session, running, revision, candidate, source, number):
    if session.revision != revision:
        session._install(running, "restore after %s:%d failed" % (source, number), "")
    session.candidate = candidate
    session._store_candidate()


def report(err, prefix, text, exc):
    """Print an error the IOS way: the line, a caret under the offending column, the message."""
    if exc.pos is not None:
        err.write("%s%s\n" % (prefix, text.rstrip()))
        err.write(" " * (len(prefix) + exc.pos) + "^\n")
    err.write("%s%s\n" % (prefix, exc.message))
    for detail in exc.details:
        err.write("%s%s\n" % (prefix, detail if detail.startswith(("[", " ", "%")) else "% " + detail))
