"""Atomic installation of generated files, with the backups needed to undo it."""

import functools
import os
import pwd
import sqlite3
from dataclasses import dataclass

from ..fsutil import fsync_dir, write_atomic
from .errors import ServiceError


@dataclass(frozen=True)
class File:
    """Content of one generated file; SECRET files are mode 0600 (owner: USER if root)."""
    content: bytes
    secret: bool = False
    user: str = ""


@dataclass(frozen=True)
class Rows:
    """Rows of one table of an existing SQLite file, changed in place in one transaction
    (atomic and crash-safe like a file replacement): {key values: row dict, or None to
    delete}, KEY naming the columns that identify a row."""
    table: str
    key: tuple
    rows: dict


def owner(user):
    """The uid to give files of USER (a name or a numeric uid): -1 (keep ours) unless root
    and the user exists."""
    if os.geteuid() != 0 or not user:
        return -1
    if user.isdigit():
        return int(user)
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return -1


class Installation:
    """Files and rows changed so far; `restore()` puts every one back as it was, `done()`
    keeps the new ones. A replaced file's old copy is kept as a hard link beside it and put
    back by renaming, which needs no free space (a full disk can always be undone)."""

    def __init__(self):
        self.undo = []         # callables, oldest change first
        self.backups = []      # hard links to the old files, dropped by done()

    def put(self, path, file):
        """Install FILE (File, Rows, or None to remove the path); False if nothing changed."""
        if isinstance(file, Rows):
            return self._put_rows(path, file)
        try:
            st = os.stat(path)
            with open(path, "rb") as f:
                old = f.read()
        except FileNotFoundError:
            st, old = None, None
        if file is None:
            if old is None:
                return False
            self.undo.append(functools.partial(_put_back, self._keep(path), path))
            os.unlink(path)
            fsync_dir(os.path.dirname(path))
            return True
        mode = 0o600 if file.secret else 0o644
        uid = owner(file.user)
        if old == file.content and st.st_mode & 0o7777 == mode and (uid < 0 or st.st_uid == uid):
            return False
        self.undo.append(functools.partial(_remove, path) if st is None else
                         functools.partial(_put_back, self._keep(path), path))
        write_atomic(path, file.content, mode, uid)
        return True

    def _put_rows(self, path, change):
        try:
            old = update_rows(path, change)
        except sqlite3.Error as exc:
            raise ServiceError("cannot update %s: %s" % (path, exc))
        if old is None:
            return False
        self.undo.append(functools.partial(update_rows, path, Rows(change.table, change.key, old)))
        return True

    def _keep(self, path):
        backup = os.path.join(os.path.dirname(path), ".%s.besip-old" % os.path.basename(path))
        if os.path.lexists(backup):
            os.unlink(backup)          # left by a commit that was killed
        os.link(path, backup)
        self.backups.append(backup)
        return backup

    def restore(self):
        """Undo every change, newest first."""
        while self.undo:
            self.undo.pop()()
        self.backups = []

    def done(self):
        """The new files stay: forget the old ones."""
        for backup in self.backups:
            os.unlink(backup)
        self.backups, self.undo = [], []


def _put_back(backup, path):
    os.replace(backup, path)
    fsync_dir(os.path.dirname(path))


def _remove(path):
    if os.path.exists(path):
        os.unlink(path)
        fsync_dir(os.path.dirname(path))


def update_rows(path, change):
    """Apply CHANGE to the SQLite file PATH in one transaction (synchronous FULL); the rows
    it replaced, as a change that undoes it, or None if every row was already so. An `id`
    column is SQLite's own and left to it."""
    where = " AND ".join("%s = ?" % c for c in change.key)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("BEGIN IMMEDIATE")
        old = {}
        for key, row in change.rows.items():
            found = conn.execute("SELECT * FROM %s WHERE %s" % (change.table, where), key).fetchone()
            found = None if found is None else {k: found[k] for k in found.keys() if k != "id"}
            if found is None and row is None or found and row and all(found[k] == v for k, v in row.items()):
                continue
            old[key] = found
            if row is None:
                conn.execute("DELETE FROM %s WHERE %s" % (change.table, where), key)
            elif found is None:
                conn.execute("INSERT INTO %s (%s) VALUES (%s)" % (change.table, ", ".join(row),
                                                                   ", ".join("?" * len(row))),
                             tuple(row.values()))
            else:
                conn.execute("UPDATE %s SET %s WHERE %s" % (change.table, ", ".join("%s = ?" % c for c in row),
                                                            where), tuple(row.values()) + tuple(key))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return old or None
