"""Durable storage of the datastores in one SQLite database (WAL, synchronous=FULL).

SQLite gives what the appliance needs: a commit is one transaction, so a power cut or a
kill at any instant leaves the old or the new configuration, never a mixture; a commit
that returned is on disk. Each stored tree carries a SHA-256 digest so that a damaged or
hand-edited database is reported instead of being loaded.
"""

import contextlib
import errno
import hashlib
import json
import os
import sqlite3
import time
import urllib.parse
import zlib
from dataclasses import dataclass
from typing import NamedTuple

from .. import audit
from .tree import entry_key

FORMAT = 1
KEEP_REVISIONS = 50


LOW_SPACE = 128 * 1024     # bytes free below which a failed write is put down to a full disk


class StoreError(Exception):
    """The data directory cannot be used; the message says why and where. TAG is the
    NETCONF error-tag: resource-denied when the directory is full or read-only."""

    def __init__(self, message, tag="operation-failed"):
        super().__init__(message)
        self.tag = tag


_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datastore (
    name TEXT PRIMARY KEY, generation INTEGER NOT NULL, revision INTEGER NOT NULL,
    data TEXT NOT NULL, digest TEXT NOT NULL, changed_by TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY, time REAL NOT NULL, user TEXT NOT NULL, client TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '', label TEXT NOT NULL DEFAULT '',
    data BLOB NOT NULL, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, client TEXT NOT NULL,
    pid INTEGER NOT NULL, pid_start TEXT NOT NULL, started REAL NOT NULL, peer TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    target TEXT PRIMARY KEY, session INTEGER NOT NULL, since REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending_confirm (
    one INTEGER PRIMARY KEY CHECK (one = 1), commit_id INTEGER NOT NULL,
    restore_id INTEGER NOT NULL, deadline REAL NOT NULL, persist TEXT,
    session INTEGER NOT NULL, timer_pid INTEGER NOT NULL DEFAULT 0,
    timer_start TEXT NOT NULL DEFAULT '');
"""


def process_start(pid):
    """The start time of process PID (to tell a live session from a reused pid), or ''."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def alive(pid, start):
    return start != "" and process_start(pid) == start


class Store:
    def __init__(self, directory, schema):
        self.directory = directory
        self.schema = schema
        self.path = os.path.join(directory, "besip.db")
        self.read_only = None          # why nothing can be written (a sentence), or None
        self.db = None
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise StoreError("cannot use %s as data directory: it is not a directory" % directory)
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            fresh = self.created = not os.path.exists(self.path)
            if fresh:
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self.db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA_SQL)
            self._upgrade()
            self._init_rows()
        except (sqlite3.DatabaseError, OSError) as exc:
            if self.db is not None:
                self.db.close()
            reason = self.unwritable()
            if reason is None or not os.path.exists(self.path):
                if isinstance(exc, OSError):
                    raise StoreError("cannot open data directory %s: %s" % (directory, exc.strerror))
                raise StoreError("datastore %s is unusable: %s" % (self.path, exc))
            self._open_read_only(reason)

    def unwritable(self):
        """Why the data directory cannot take a write now (read-only, full), or None."""
        if not os.access(self.directory, os.W_OK) or (
                os.path.exists(self.path) and not os.access(self.path, os.W_OK)):
            return "%s is read-only: the configuration can be shown but not changed" % self.directory
        try:
            st = os.statvfs(self.directory)
        except OSError:
            return None
        if st.f_bavail * st.f_frsize < LOW_SPACE:
            return "Not enough space on %s: nothing was committed" % self.directory
        return None

    def _open_read_only(self, reason):
        """Open the database for reading only, since REASON forbids writing."""
        wal = self.path + "-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            raise StoreError("%s, and %s holds commits not yet merged into %s: make the directory "
                             "writable and run besip again" % (reason.split(":")[0], wal, self.path),
                             tag="resource-denied")
        uri = "file:%s?" % urllib.parse.quote(os.path.abspath(self.path))
        for mode in ("mode=ro", "immutable=1"):    # immutable: no -shm file can be made
            db = sqlite3.connect(uri + mode, uri=True, timeout=10, isolation_level=None)
            try:
                row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
                db.execute("SELECT 1 FROM datastore, history, sessions, locks, pending_confirm "
                           "LIMIT 1").fetchall()
                break
            except sqlite3.DatabaseError as exc:
                db.close()
                error = exc
        else:
            raise StoreError("datastore %s is unusable: %s" % (self.path, error))
        if row is None or row[0] != str(FORMAT):
            db.close()
            raise StoreError("datastore %s has format %s; this besip reads format %d"
                             % (self.path, row and row[0], FORMAT))
        self.db, self.read_only = db, reason

    def refusal(self, exc):
        """The StoreError for a write that failed with EXC (sqlite3 or OS error)."""
        name = getattr(exc, "sqlite_errorname", "")
        reason = self.read_only or self.unwritable()
        if reason is None and (name == "SQLITE_FULL" or getattr(exc, "errno", None) == errno.ENOSPC):
            reason = "Not enough space on %s: nothing was committed" % self.directory
        if reason is not None:
            return StoreError(reason, tag="resource-denied")
        if isinstance(exc, OSError):
            return StoreError("cannot write in data directory %s: %s" % (self.directory, exc.strerror))
        return StoreError("datastore %s is unusable: %s" % (self.path, exc))

    def _upgrade(self):
        """Columns added since format 1 was first written."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(pending_confirm)")}
        if "timer_start" not in columns:
            self.db.execute("ALTER TABLE pending_confirm ADD COLUMN timer_start TEXT NOT NULL "
                            "DEFAULT ''")

    def _init_rows(self):
        with self.transaction():
            row = self.db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if row is None:
                self.db.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT),))
            elif row[0] != str(FORMAT):
                raise StoreError("datastore %s has format %s; this besip reads format %d"
                                 % (self.path, row[0], FORMAT))
            for name in ("running", "candidate"):
                if self.db.execute("SELECT 1 FROM datastore WHERE name=?", (name,)).fetchone() is None:
                    text = self.encode({})
                    self.db.execute("INSERT INTO datastore (name, generation, revision, data, digest)"
                                    " VALUES (?, 0, 0, ?, ?)", (name, text, _digest(text)))

    # -- transactions

    def transaction(self):
        return _Transaction(self)

    # -- encoding: JSON of the tree, multi-key list dicts turned into lists of entries

    def encode(self, tree):
        return json.dumps(_freeze(tree, self.schema.roots), separators=(",", ":"),
                          ensure_ascii=False)

    def decode(self, text, what):
        try:
            return _thaw(json.loads(text), self.schema.roots)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError("%s in %s is damaged (%s)" % (what, self.path, exc))

    # -- datastores

    def generation(self, name):
        return self.db.execute("SELECT generation FROM datastore WHERE name=?", (name,)).fetchone()[0]

    def load(self, name):
        """(tree, generation, revision, changed_by) of datastore NAME."""
        try:
            row = self.db.execute("SELECT data, digest, generation, revision, changed_by "
                                  "FROM datastore WHERE name=?", (name,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError("datastore %s is unusable: %s" % (self.path, exc))
        data, digest, generation, revision, changed_by = row
        if _digest(data) != digest:
            raise StoreError("the %s configuration in %s was modified outside besip "
                             "(checksum mismatch); 'besip --recover' restores the newest "
                             "intact commit" % (name, self.path))
        return self.decode(data, "the %s configuration" % name), generation, revision, \
            json.loads(changed_by)

    def text(self, name):
        """(stored text, generation) of datastore NAME, read together."""
        return self.db.execute("SELECT data, generation FROM datastore WHERE name=?",
                               (name,)).fetchone()

    def changed_by(self, name):
        """Who changed datastore NAME since it was last committed ([]: nobody)."""
        row = self.db.execute("SELECT changed_by FROM datastore WHERE name=?", (name,)).fetchone()
        return json.loads(row[0])

    def save(self, name, tree, changed_by=(), revision=None, text=None):
        """Store TREE (or its encoding TEXT) as datastore NAME."""
        text = self.encode(tree) if text is None else text
        if revision is None:
            self.db.execute("UPDATE datastore SET data=?, digest=?, generation=generation+1, "
                            "changed_by=? WHERE name=?",
                            (text, _digest(text), json.dumps(list(changed_by)), name))
        else:
            self.db.execute("UPDATE datastore SET data=?, digest=?, generation=generation+1, "
                            "revision=?, changed_by=? WHERE name=?",
                            (text, _digest(text), revision, json.dumps(list(changed_by)), name))
        return text

    # -- history

    def add_revision(self, text, user, client, comment="", label=""):
        cur = self.db.execute("INSERT INTO history (time, user, client, comment, label, data, digest)"
                              " VALUES (?, ?, ?, ?, ?, ?, ?)",
                              (time.time(), user, client, comment, label,
                               zlib.compress(text.encode("utf-8"), 1), _digest(text)))
        self.db.execute("DELETE FROM history WHERE id <= ?", (cur.lastrowid - KEEP_REVISIONS,))
        return cur.lastrowid

    def history(self, limit=KEEP_REVISIONS):
        return self.db.execute("SELECT id, time, user, client, comment, label FROM history "
                               "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()

    def revision(self, commit_id):
        row = self.db.execute("SELECT data, digest FROM history WHERE id=?", (commit_id,)).fetchone()
        if row is None:
            return None
        try:
            text = zlib.decompress(row[0]).decode("utf-8")
        except (zlib.error, UnicodeDecodeError) as exc:
            raise StoreError("commit %d in %s is damaged (%s)" % (commit_id, self.path, exc))
        if _digest(text) != row[1]:
            raise StoreError("commit %d in %s is damaged (checksum mismatch)"
                             % (commit_id, self.path))
        return self.decode(text, "commit %d" % commit_id)

    def recover(self):
        """Make the newest intact commit running and candidate again: (its id, or 0 when
        none was intact and the configuration is now empty; the newer damaged commits'
        messages)."""
        damaged = []
        for commit_id, *_rest in self.history():
            try:
                tree = self.revision(commit_id)
            except StoreError as exc:
                damaged.append(str(exc))
                continue
            break
        else:
            commit_id, tree = 0, {}
        text = self.encode(tree)
        with self.transaction():
            self.save("running", None, revision=commit_id, text=text)
            self.save("candidate", None, text=text)
        return commit_id, damaged

    # -- sessions and locks

    def open_session(self, user, client, peer=""):
        """The new session's id (0 when read-only: it is not registered)."""
        if self.read_only:
            return 0
        pid = os.getpid()
        try:
            with self.transaction():
                cur = self.db.execute("INSERT INTO sessions (user, client, pid, pid_start, "
                                      "started, peer) VALUES (?, ?, ?, ?, ?, ?)",
                                      (user, client, pid, process_start(pid), time.time(), peer))
        except StoreError as exc:
            if exc.tag != "resource-denied":
                raise
            self.read_only = str(exc)          # a full disk: reading still works
            return 0
        return cur.lastrowid

    def close_session(self, session):
        if self.read_only:
            return
        with self.transaction():
            self.db.execute("DELETE FROM locks WHERE session=?", (session,))
            self.db.execute("DELETE FROM sessions WHERE id=?", (session,))

    def reap_sessions(self):
        """Forget sessions whose process is gone, and the locks they held (each such
        lock is an audit event)."""
        if self.read_only:
            return
        dead = [row for row in self.db.execute("SELECT id, pid, pid_start, user, client, peer "
                                               "FROM sessions").fetchall()
                if not alive(row[1], row[2])]
        for sid, pid, _start, user, client, peer in dead:
            released = self.db.execute("DELETE FROM locks WHERE session=? RETURNING target",
                                       (sid,)).fetchall()
            self.db.execute("DELETE FROM sessions WHERE id=?", (sid,))
            if released:
                audit.lock_released(self.directory, (sid, pid, user, client, peer),
                                    sorted(target for target, in released))

    def sessions(self):
        """Every registered session, as SessionRows."""
        return [SessionRow(*row) for row in self.db.execute(
            "SELECT id, user, client, pid, started, peer FROM sessions ORDER BY id")]

    def session_info(self, session):
        """The SessionRow of SESSION, or None."""
        row = self.db.execute("SELECT id, user, client, pid, started, peer FROM sessions "
                              "WHERE id=?", (session,)).fetchone()
        return SessionRow(*row) if row else None

    def lock_holder(self, target):
        """(session id, user, client, pid, since) of the lock on TARGET, or None."""
        return self.db.execute("SELECT l.session, s.user, s.client, s.pid, l.since FROM locks l "
                               "JOIN sessions s ON s.id = l.session WHERE l.target=?",
                               (target,)).fetchone()

    def locks(self):
        return self.db.execute("SELECT l.target, l.session, s.user, s.client, s.pid, l.since "
                               "FROM locks l JOIN sessions s ON s.id = l.session "
                               "ORDER BY l.target").fetchall()

    def take_lock(self, target, session):
        self.db.execute("INSERT INTO locks VALUES (?, ?, ?)", (target, session, time.time()))

    def drop_lock(self, target, session):
        return self.db.execute("DELETE FROM locks WHERE target=? AND session=?",
                               (target, session)).rowcount

    # -- confirmed commit

    def pending(self):
        """The pending confirmed commit (a Pending), or None."""
        row = self.db.execute("SELECT commit_id, restore_id, deadline, persist, session, "
                              "timer_pid, timer_start FROM pending_confirm").fetchone()
        return Pending(*row) if row else None

    def set_pending(self, commit_id, restore_id, deadline, persist, session):
        self.db.execute("INSERT OR REPLACE INTO pending_confirm VALUES (1, ?, ?, ?, ?, ?, 0, '')",
                        (commit_id, restore_id, deadline, persist, session))

    def set_timer(self, pid):
        self.db.execute("UPDATE pending_confirm SET timer_pid=?, timer_start=?",
                        (pid, process_start(pid)))

    # -- a commit between installing the programs' files and storing running

    def applying(self):
        """(pid, pid start) of the process whose commit is installing files, or None."""
        row = self.db.execute("SELECT value FROM meta WHERE key='applying'").fetchone()
        return tuple(json.loads(row[0])) if row else None

    def set_applying(self, on):
        if on:
            pid = os.getpid()
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('applying', ?)",
                            (json.dumps([pid, process_start(pid)]),))
        else:
            self.db.execute("DELETE FROM meta WHERE key='applying'")

    def clear_pending(self):
        self.db.execute("DELETE FROM pending_confirm")

    def close(self):
        self.db.close()


class SessionRow(NamedTuple):
    """A registered session: who (USER, CLIENT, PEER address), its process, since when."""
    id: int
    user: str
    client: str
    pid: int
    started: float
    peer: str


@dataclass(frozen=True)
class Pending:
    """A confirmed commit waiting for its confirmation: COMMIT_ID is reverted to
    RESTORE_ID (0: empty) at DEADLINE (epoch seconds) unless confirmed; PERSIST is its
    persist id (None: only SESSION may confirm it); TIMER_PID/TIMER_START name the
    process that reverts it (0 before it is started)."""
    commit_id: int
    restore_id: int
    deadline: float
    persist: str | None
    session: int
    timer_pid: int
    timer_start: str


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception; inside another
    transaction it is part of the outer one. A write that fails for want of space or
    permission (or any write in a read-only store) raises the store's StoreError."""

    def __init__(self, store):
        self.store = store
        self.db = store.db
        self.outer = False

    def __enter__(self):
        if self.db.in_transaction or self.store.read_only:
            return self.db
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_BUSY":
                raise StoreError("the datastore is busy (%s); try again" % exc, tag="in-use")
            raise self.store.refusal(exc)
        self.outer = True
        return self.db

    def __exit__(self, kind, value, _tb):
        if self.outer:
            try:
                self.db.execute("ROLLBACK" if kind else "COMMIT")
            except sqlite3.DatabaseError as exc:
                if self.db.in_transaction:
                    with contextlib.suppress(sqlite3.DatabaseError):
                        self.db.execute("ROLLBACK")
                if not kind:
                    raise self.store.refusal(exc) from exc
        if isinstance(value, sqlite3.DatabaseError) and (self.outer or self.store.read_only):
            raise self.store.refusal(value) from value
        return False


def _digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _freeze(data, children):
    """Copy only the parts that hold lists with several keys (their dict keys are tuples)."""
    out = data
    for name, value in data.items():
        node = children.get(name)
        if node is None or not _has_multikey(node):
            continue
        if out is data:
            out = dict(data)
        if node.kind == "list":
            out[name] = [_freeze(e, node.children) for e in value.values()]
        else:
            out[name] = _freeze(value, node.children)
    return out


def _thaw(data, children):
    for name, value in data.items():
        node = children[name]
        if node.kind == "list":
            if isinstance(value, list):
                data[name] = {entry_key(node, e): _thaw(e, node.children) for e in value}
            elif _has_multikey(node):
                for entry in value.values():
                    _thaw(entry, node.children)
        elif node.kind == "container":
            _thaw(value, node.children)
    return data


def _has_multikey(node):
    if node.kind == "list" and len(node.keys) > 1:
        return True
    return any(_has_multikey(c) for c in node.children.values() if c.kind in ("list", "container"))
