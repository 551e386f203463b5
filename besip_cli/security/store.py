"""The IPS's state in SQLite (DIR/security.db, WAL): the bans it made, each source's
offence count (the escalation survives restarts and expiry) and the event history (the
newest KEEP_EVENTS; each event is also a syslog line)."""

import sqlite3
import syslog
import time

from ..audit import syslog_socket
from ..visible import visible

KEEP_EVENTS = 10000
_PRIORITY = {"ban": syslog.LOG_AUTH | syslog.LOG_WARNING}     # others: LOG_AUTH | LOG_NOTICE

SCHEMA = """
CREATE TABLE IF NOT EXISTS ban (address TEXT PRIMARY KEY, reason TEXT NOT NULL,
  since REAL NOT NULL, until REAL NOT NULL, hits INTEGER NOT NULL, offences INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY, at REAL NOT NULL,
  address TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL);
"""


class Store:
    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def active(self, address, now=None):
        """The (reason, since, until, hits) of ADDRESS's ban in force, or None."""
        return self.db.execute("SELECT reason, since, until, hits FROM ban WHERE address = ? AND until > ?",
                               (address, now or time.time())).fetchone()

    def offences(self, address):
        row = self.db.execute("SELECT offences FROM ban WHERE address = ?", (address,)).fetchone()
        return row[0] if row else 0

    def ban(self, address, reason, seconds, now):
        """Record a new ban of ADDRESS (one more offence)."""
        self.db.execute("INSERT INTO ban VALUES (?, ?, ?, ?, 1, 1) ON CONFLICT (address) DO UPDATE "
                        "SET reason = excluded.reason, since = excluded.since, until = excluded.until, "
                        "hits = 1, offences = offences + 1", (address, reason, now, now + seconds))
        self.event(address, "ban", "%s for %ds" % (reason, seconds), now)

    def hit(self, address):
        """One more report of a source already banned."""
        self.db.execute("UPDATE ban SET hits = hits + 1 WHERE address = ?", (address,))

    def unban(self, address, why, now=None):
        """End ADDRESS's ban (its offences stay counted)."""
        now = now or time.time()
        self.db.execute("UPDATE ban SET until = ? WHERE address = ? AND until > ?", (now, address, now))
        self.event(address, "unban", why, now)

    def bans(self, now=None):
        """{address: (reason, since, until, hits)} of the bans in force."""
        rows = self.db.execute("SELECT address, reason, since, until, hits FROM ban WHERE until > ?",
                               (now or time.time(),))
        return {r[0]: r[1:] for r in rows}

    def event(self, address, kind, reason, now=None):
        """Record event KIND (ban, unban, ignored) of ADDRESS, in the table and in syslog."""
        row = self.db.execute("INSERT INTO event (at, address, kind, reason) VALUES (?, ?, ?, ?)",
                              (now or time.time(), address, kind, reason)).lastrowid
        self.db.execute("DELETE FROM event WHERE id <= ?", (row - KEEP_EVENTS,))
        syslog_socket.send(_PRIORITY.get(kind, syslog.LOG_AUTH | syslog.LOG_NOTICE),
                           "ips %s %s: %s" % (kind, address, visible(reason)))

    def events(self, limit):
        """The newest LIMIT events, oldest first: (at, address, kind, reason)."""
        rows = self.db.execute("SELECT at, address, kind, reason FROM event ORDER BY id DESC "
                               "LIMIT ?", (limit,)).fetchall()
        return rows[::-1]

    def close(self):
        self.db.close()
