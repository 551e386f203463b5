"""The history of rated calls in SQLite (DATA/voice-quality.db, WAL): one row per call,
its directions as JSON, the lowest MOS of its directions for the `mos-below` filter.
Retention: rows older than the configured days go, and the oldest beyond the configured
count, at every store."""

import json
import os
import sqlite3
import time

NAME = "voice-quality.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS call (id INTEGER PRIMARY KEY, start REAL NOT NULL,
  caller TEXT NOT NULL, callee TEXT NOT NULL, call_id TEXT, mos REAL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS call_start ON call (start);
CREATE TABLE IF NOT EXISTS alarm (id INTEGER PRIMARY KEY, at REAL NOT NULL, call INTEGER NOT NULL,
  data TEXT NOT NULL);
"""
KEEP_ALARMS = 1000


class Storage:
    def __init__(self, directory):
        self.db = sqlite3.connect(os.path.join(directory, NAME), isolation_level=None, timeout=10)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def add(self, call, days=30, keep=100000):
        """Store a rated CALL (analysis.Analyzer's form); returns its id."""
        moses = [d["mos"] for d in call["directions"] if d["mos"] is not None]
        row = self.db.execute(
            "INSERT INTO call (start, caller, callee, call_id, mos, data) VALUES (?, ?, ?, ?, ?, ?)",
            (call["start"], call["caller"], call["callee"], call["call_id"],
             min(moses) if moses else None, json.dumps(call))).lastrowid
        self.db.execute("DELETE FROM call WHERE start < ? OR id <= ?",
                        (time.time() - days * 86400, row - keep))
        return row

    def calls(self, last=None, mos_below=None):
        """The newest LAST calls (all: None), oldest first; only those with a direction
        rated below MOS_BELOW if given."""
        where, args = "", []
        if mos_below is not None:
            where, args = "WHERE mos < ?", [mos_below]
        rows = self.db.execute("SELECT id, data FROM call %s ORDER BY id DESC LIMIT ?" % where,
                               args + [last if last is not None else -1]).fetchall()
        return [dict(json.loads(data), id=row_id) for row_id, data in reversed(rows)]

    def call(self, row_id):
        row = self.db.execute("SELECT data FROM call WHERE id = ?", (row_id,)).fetchone()
        return dict(json.loads(row[0]), id=row_id) if row else None

    def alarm(self, row_id, call, direction, mos, threshold):
        """Record that DIRECTION of call ROW_ID was rated MOS, below THRESHOLD."""
        data = {"call-id": call["call_id"] or "", "caller": call["caller"], "callee": call["callee"],
                "direction": "to-callee" if direction == "->" else "to-caller",
                "mos": "%.2f" % mos, "threshold": "%.2f" % threshold}
        row = self.db.execute("INSERT INTO alarm (at, call, data) VALUES (?, ?, ?)",
                              (time.time(), row_id, json.dumps(data))).lastrowid
        self.db.execute("DELETE FROM alarm WHERE id <= ?", (row - KEEP_ALARMS,))

    def newest_alarm(self):
        return self.db.execute("SELECT coalesce(max(id), 0) FROM alarm").fetchone()[0]

    def alarms(self, after):
        """[(id, time, {leaf: value})] of the alarms after id AFTER."""
        return [(i, at, json.loads(data)) for i, at, data in
                self.db.execute("SELECT id, at, data FROM alarm WHERE id > ? ORDER BY id", (after,))]

    def close(self):
        self.db.close()


def exists(directory):
    return os.path.exists(os.path.join(directory, NAME))
