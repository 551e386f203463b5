"""The audit table: the newest KEEP events in DATA_DIR/audit.db (SQLite, WAL, 0600).

A database of its own rather than a table in besip.db: an event may be written at any
moment by any process (a failed login in besip-sshd, the login of every besip run), and
it must never take the write lock that commits wait for on besip.db; it is written with
synchronous=NORMAL (no fsync per event; syslog holds the other copy) where the
configuration needs FULL; and a damaged or deleted audit.db never touches the
configuration or `besip --recover`. It never takes the last free space either: below
RESERVE bytes free, events go to syslog only. One connection per process and data directory.
"""

import contextlib
import os
import sqlite3
import threading
import urllib.parse

FILE = "audit.db"
KEEP = 10000
BUSY_TIMEOUT = 0.5            # seconds another process's event may delay this one
RESERVE = 512 * 1024          # bytes left free for the configuration

_SQL = """CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, time REAL NOT NULL, user TEXT NOT NULL, client TEXT NOT NULL,
    peer TEXT NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL)"""
_COLUMNS = "time, user, client, peer, event, detail"

_connections = {}             # data directory -> sqlite3 connection
_lock = threading.Lock()


def append(directory, row):
    """Store ROW (time, user, client, peer, event, detail); False when the data directory
    cannot take it (read-only, nearly full, a damaged audit.db): the event is then in syslog
    only."""
    with _lock:
        try:
            st = os.statvfs(directory)
            if st.f_bavail * st.f_frsize < RESERVE:
                return False
            db = _connections.get(directory) or _open(directory)
            with db:
                cursor = db.execute("INSERT INTO events (%s) VALUES (?, ?, ?, ?, ?, ?)"
                                    % _COLUMNS, row)
                db.execute("DELETE FROM events WHERE id <= ?", (cursor.lastrowid - KEEP,))
            return True
        except (sqlite3.Error, OSError):
            db = _connections.pop(directory, None)
            if db is not None:
                db.close()
            return False


def events(directory, limit=KEEP):
    """The newest LIMIT events, oldest first, as rows (time, user, client, peer, event,
    detail); none if there is no readable audit.db."""
    path = os.path.join(directory, FILE)
    if not os.path.exists(path):
        return []
    query = "SELECT %s FROM events ORDER BY id DESC LIMIT ?" % _COLUMNS
    uri = "file:%s?" % urllib.parse.quote(os.path.abspath(path))
    for mode in ("mode=ro", "immutable=1"):       # immutable: a read-only directory
        try:
            with contextlib.closing(sqlite3.connect(uri + mode, uri=True,
                                                    timeout=BUSY_TIMEOUT)) as db:
                return db.execute(query, (limit,)).fetchall()[::-1]
        except sqlite3.Error:
            continue
    return []


def _open(directory):
    path = os.path.join(directory, FILE)
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(_SQL)
    except sqlite3.Error:
        db.close()
        raise
    _connections[directory] = db
    return db
