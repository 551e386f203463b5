"""The audit trail: logins and failed logins, commits, rollbacks, confirmed-commit reverts
and lock breaks, each with the user, the client (cli, ssh, netconf, besip-sshd...) and the
peer address.

Every event goes to syslog (ident `besip`; facility LOG_AUTH for logins, LOG_USER for the
rest; syslog_socket.py) and to the bounded table in the data directory that `show log
audit` reads (journal.py). Recording never raises and never waits for the configuration's
database: with a read-only or full data directory the event is in syslog only.
"""

import sqlite3
import syslog
import time

from ..visible import visible
from . import journal, syslog_socket
from .journal import events  # noqa: F401  (show log audit reads here)

_PRIORITY = {
    "login": syslog.LOG_AUTH | syslog.LOG_INFO,
    "login-failed": syslog.LOG_AUTH | syslog.LOG_WARNING,
    "commit": syslog.LOG_USER | syslog.LOG_NOTICE,
    "rollback": syslog.LOG_USER | syslog.LOG_NOTICE,
    "revert": syslog.LOG_USER | syslog.LOG_WARNING,
    "lock-break": syslog.LOG_USER | syslog.LOG_WARNING,
    "kill-session": syslog.LOG_USER | syslog.LOG_NOTICE,
}
_LIMITS = (64, 32, 64, 512)   # characters kept of user, client, peer, detail


def record(directory, event, user, client, peer, detail):
    """Record EVENT (a key of _PRIORITY) in syslog and in DIRECTORY's audit table. Every
    field is shown with invisible characters as \\uXXXX (a user name an attacker typed
    cannot forge log lines) and cut to a bounded length."""
    user, client, peer, detail = (_shown(text, limit) for text, limit
                                  in zip((user, client, peer, detail), _LIMITS))
    syslog_socket.send(_PRIORITY[event], "%s user=%s client=%s from=%s: %s"
                       % (event, user or "-", client or "-", peer or "-", detail))
    journal.append(directory, (time.time(), user, client, peer, event, detail))


def of_session(session, event, detail):
    """Record EVENT as done by datastore SESSION (its user, client and peer)."""
    try:
        row = session.store.session_info(session.id) if session.id else None
    except sqlite3.Error:
        row = None
    record(session.directory, event, session.user, session.client, row[5] if row else "", detail)


# ---------------------------------------------------------------- the events, one each

def login(session, role, how, refused=None):
    """SESSION started (HOW: "interactive shell", "netconf"...) with ROLE, or was REFUSED
    (by default: when ROLE is None)."""
    if refused or (refused is None and role is None):
        of_session(session, "login-failed", "not a user of this system (%s)" % how)
    else:
        of_session(session, "login", "%s, role %s, session %d" % (how, role or "none", session.id))


def login_failed(directory, user, client, peer, reason):
    record(directory, "login-failed", user, client, peer, reason)


def committed(session, commit_id, comment, client):
    of_session(session, "commit", "commit %d%s%s" % (
        commit_id, " by %s" % client if client != session.client else "",
        ', comment "%s"' % comment if comment else ""))


def rollback_loaded(session, index, commit_id):
    of_session(session, "rollback", "rollback %d (commit %d) loaded into the candidate"
               % (index, commit_id))


def reverted(session, commit_id, reason, new_id):
    of_session(session, "revert", "commit %d %s: rolled back%s" % (
        commit_id, reason, " (commit %d)" % new_id if new_id else ""))


def lock_released(directory, session_row, targets):
    """The process of SESSION_ROW (id, pid, user, client, peer) ended holding TARGETS'
    locks, which another session has now released."""
    sid, pid, user, client, peer = session_row
    record(directory, "lock-break", user, client, peer, "session %d (pid %d) ended holding "
           "the %s lock%s: released" % (sid, pid, " and ".join(targets), "s" * (len(targets) > 1)))


def killed(session, victim_row, targets):
    """SESSION ended session VICTIM_ROW (id, user, client, pid, started, peer), which held
    TARGETS' locks (released with it)."""
    sid, user, client, pid, _started, peer = victim_row
    detail = "kill-session %d of %s (%s, pid %d%s)" % (
        sid, user, client, pid, ", from %s" % peer if peer else "")
    if targets:
        detail += ": released its %s lock%s" % (" and ".join(targets), "s" * (len(targets) > 1))
    of_session(session, "lock-break" if targets else "kill-session", detail)


def _shown(text, limit):
    text = visible(str(text or ""))
    return text if len(text) <= limit else text[:limit - 3] + "..."
