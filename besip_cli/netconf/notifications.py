"""RFC 5277 subscriptions with RFC 6470 netconf-config-change on every commit, whichever
front-end or process made it, and besip-monitoring's voice-quality-alarm for every call
direction the monitor rated below the threshold: a thread per subscribed session polls the
commit history and the monitor's alarm table."""

import threading
import time
import xml.etree.ElementTree as ET

from ..datastore.store import Store
from ..datastore.tree import diff
from ..monitoring import storage as vq_storage
from .errors import RpcError
from .xmlutil import instance_id, qn, text

NS = "urn:ietf:params:xml:ns:netconf:notification:1.0"
CHANGE_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
MONITORING_NS = "urn:besip:params:xml:ns:yang:besip-monitoring"
POLL = 0.2          # seconds between looks at the newest commit id


def subscribe(nc, op):
    stream = text(op.find(qn("stream", NS))) or "NETCONF"
    if stream != "NETCONF":
        raise RpcError("invalid-value", "no stream %s (only NETCONF)" % stream, info={"bad-element": "stream"})
    if op.find(qn("startTime", NS)) is not None:
        raise RpcError("operation-failed", "replay is not supported", info={"bad-element": "startTime"})
    if nc.subscription is not None:
        raise RpcError("operation-failed", "this session already has a subscription")
    nc.subscription = Watcher(nc)


class Watcher:
    def __init__(self, nc):
        self.nc = nc
        self.stop_event = threading.Event()
        self.last = _newest(nc.ds.store)
        self.last_alarm = _newest_alarm(nc.ds.directory)
        self.thread = threading.Thread(target=self._run, name="netconf-notify-%d" % nc.id, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=5)

    def _run(self):
        store = Store(self.nc.ds.directory, self.nc.ds.schema)
        try:
            while not self.stop_event.wait(POLL):
                self._alarms()
                newest = _newest(store)
                if newest == self.last:
                    continue
                rows = store.db.execute("SELECT id, time, user, client FROM history WHERE id > ? "
                                        "ORDER BY id", (self.last,)).fetchall()
                for commit_id, stamp, user, client in rows:
                    self._emit(store, commit_id, stamp, user)
                self.last = newest
        except Exception:          # a vanished database ends the subscription, not the session
            pass
        finally:
            store.close()

    def _alarms(self):
        """Send the monitor's alarms since the last look."""
        if not vq_storage.exists(self.nc.ds.directory):
            return
        alarms = vq_storage.Storage(self.nc.ds.directory)
        try:
            for alarm_id, stamp, leaves in alarms.alarms(self.last_alarm):
                event = ET.Element("notification", {"xmlns": NS})
                ET.SubElement(event, "eventTime").text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
                alarm = ET.SubElement(event, "voice-quality-alarm", {"xmlns": MONITORING_NS})
                for name in ("call-id", "caller", "callee", "direction", "mos", "threshold"):
                    ET.SubElement(alarm, name).text = leaves[name]
                self.nc.send(ET.tostring(event, encoding="unicode"))
                self.last_alarm = alarm_id
        finally:
            alarms.close()

    def _emit(self, store, commit_id, stamp, user):
        schema = self.nc.ds.schema
        before = store.db.execute("SELECT max(id) FROM history WHERE id < ?", (commit_id,)).fetchone()[0]
        old = (store.revision(before) if before else None) or {}
        new = store.revision(commit_id) or {}
        event = ET.Element("notification", {"xmlns": NS})
        ET.SubElement(event, "eventTime").text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
        change = ET.SubElement(event, "netconf-config-change", {"xmlns": CHANGE_NS})
        by = ET.SubElement(change, "changed-by")
        ET.SubElement(by, "username").text = user
        ET.SubElement(by, "session-id").text = "0"
        ET.SubElement(change, "datastore").text = "running"
        for item in diff(old, new, schema.roots):
            edit = ET.SubElement(change, "edit")
            ET.SubElement(edit, "target").text = instance_id(schema, item.path)
            ET.SubElement(edit, "operation").text = (
                "create" if item.old is None else "delete" if item.new is None else "replace")
        self.nc.send(ET.tostring(event, encoding="unicode"))


def _newest_alarm(directory):
    if not vq_storage.exists(directory):
        return 0
    alarms = vq_storage.Storage(directory)
    try:
        return alarms.newest_alarm()
    finally:
        alarms.close()


def _newest(store):
    return store.db.execute("SELECT coalesce(max(id), 0) FROM history").fetchone()[0]
