"""The voice-quality component of the BESIP daemon: live capture with AF_PACKET sockets
(stdlib; the kernel's receive time of every packet, SO_TIMESTAMPNS), the same analysis as
capture files, rated calls stored, and an alarm (syslog line and NETCONF notification)
for each direction rated below the threshold.

Memory is bounded whatever the traffic: the socket's receive buffer (the kernel drops
what the daemon cannot take), at most BATCH packets per wake-up, and the analyzer's caps
on calls and streams; RTP to addresses no SDP announced is never tracked."""

import json
import os
import socket
import struct
import sys
import syslog
import time

from ..audit import syslog_socket
from ..services import monitoring as service
from ..visible import visible
from .analysis import Analyzer, Options
from .packets import udp
from .storage import Storage

ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 = 0x0003, 0x0800, 0x86DD
PACKET_OUTGOING = 4
BATCH = 512
RECEIVE_BUFFER = 4 << 20
_TIMESPEC = struct.Struct("qq")
# Linux's SO_TIMESTAMPNS (asm-generic and most architectures; Python does not name it)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


class VoiceQuality:
    name = "voice-quality"

    def __init__(self, directory, settings):
        self.settings = settings
        self.storage = Storage(directory)
        self.policy = {"enabled": "false"}
        self.socks = []
        self.analyzer = None

    def sockets(self):
        return [(sock, lambda sock=sock: self.on_packets(sock)) for sock in self.socks]

    def commands(self):
        return {"calls": self.calls, "status": self.status}

    def reload(self):
        """Take the rendered policy: open or close the capture, keep calls in progress."""
        path = self.settings.path(service.POLICY)
        if not os.path.exists(path):
            return
        with open(path) as f:
            policy = json.load(f)
        wanted = policy["enabled"] == "true"
        policy.setdefault("interface", [])
        if self.analyzer is not None and (not wanted or policy["interface"] != self.policy.get("interface")):
            self._stop()
        self.policy = policy
        if wanted:
            if self.analyzer is None:
                self.analyzer = Analyzer(Options.of(policy))
                self.socks = [_capture_socket(name) for name in policy["interface"] or [None]]
            else:
                self.analyzer.options = Options.of(policy)

    def _stop(self):
        self.analyzer.finish()
        self._store()
        self.analyzer = None
        for sock in self.socks:
            sock.close()
        self.socks = []

    # ---------------------------------------------------------------- packets

    def on_packets(self, sock):
        """Take up to BATCH waiting packets (the selector calls again for the rest)."""
        datagram = self.analyzer.datagram
        for _ in range(BATCH):
            try:
                data, ancillary, _, address = sock.recvmsg(65535, 64)
            except BlockingIOError:
                return
            if address[2] == PACKET_OUTGOING and address[0] == "lo":
                continue            # loopback shows each packet twice: keep the arriving copy
            version = 4 if address[1] == ETH_P_IP else 6 if address[1] == ETH_P_IPV6 else 0
            if not version:
                continue
            found = udp(data, 0, version)
            if found is not None:
                stamp = time.time()
                for level, kind, value in ancillary:
                    if kind == SO_TIMESTAMPNS and len(value) >= 16:
                        seconds, nanoseconds = _TIMESPEC.unpack_from(value)
                        stamp = seconds + nanoseconds * 1e-9
                datagram(stamp, *found)

    def tick(self):
        """Rate and store the calls that are over."""
        if self.analyzer is not None:
            self.analyzer.expire(time.time())
            self._store()

    def _store(self):
        retention = self.policy["retention"]
        threshold = float(self.policy["alarm-threshold"])
        for call in self.analyzer.take():
            row = self.storage.add(call, int(retention["days"]), int(retention["calls"]))
            for d in call["directions"]:
                if d["mos"] is not None and d["mos"] < threshold:
                    self._alarm(row, call, d, threshold)

    def _alarm(self, row, call, d, threshold):
        self.storage.alarm(row, call, d["direction"], d["mos"], threshold)
        syslog_socket.send(syslog.LOG_DAEMON | syslog.LOG_WARNING,
                           "voice-quality %s -> %s %s MOS %.2f below %.2f (call %d: loss %.1f%%, jitter %.1f ms)"
                           % (visible(call["caller"]), visible(call["callee"]),
                              "to-callee" if d["direction"] == "->" else "to-caller",
                              d["mos"], threshold, row, d["loss"], d["jitter"]))

    # ---------------------------------------------------------------- operation

    def calls(self, last=20, mos_below=None):
        return self.storage.calls(int(last), mos_below)

    def status(self):
        a = self.analyzer
        return {"capturing": a is not None, "calls": len(a.calls) if a else 0,
                "streams": len(a.streams) if a else 0, "ignored": a.ignored if a else 0}

    def close(self):
        if self.analyzer is not None:
            self._stop()
        self.storage.close()


def _capture_socket(interface):
    """A non-blocking AF_PACKET socket for IP packets of INTERFACE (None: every one)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if interface:
            sock.bind((interface, ETH_P_ALL))
    except OSError as exc:
        sock.close()
        print("besip-daemon: voice-quality: cannot capture on %s: %s" % (interface, exc),
              file=sys.stderr, flush=True)
        raise
    sock.setblocking(False)
    return sock
