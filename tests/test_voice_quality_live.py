"""The voice-quality component of the BESIP daemon (issue 13): live capture in a network
namespace the test creates, calls played in real time, the history in `show voice-quality
calls`, the state over NETCONF <get>, and the alarm as a syslog line and a NETCONF
notification."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

import netns
import rtpgen
import sipkit
from test_audit import Syslog
from test_voice_quality import g107, g107_mos

needs_netns = pytest.mark.skipif(not netns.available(), reason="needs root, ip and nft")
HELLO = ('<?xml version="1.0"?><hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
         '<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>')
RPC = '<rpc message-id="%d" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">%s</rpc>]]>]]>'


class Monitor:
    """A namespace with the BESIP daemon capturing on its loopback, and `besip` for it."""

    def __init__(self, lab, base, env):
        self.lab, self.env, self.base = lab, dict(env, BESIP_SYSLOG=str(base / "log")), base
        self.syslog = Syslog(base / "log")
        self.data = str(base / "data")
        self.kamailio = sipkit.Kamailio(self.data, base / "root", base / "run")     # started by commits
        with open(os.path.join(self.data, "services.toml"), "a") as f:
            f.write('[monitoring]\nreload = "%s -m besip_cli.daemon --datastore %s reload"\n'
                    '[ips]\nreload = ""\n[besip]\nruntime = "%s"\n'
                    % (sys.executable, self.data, base / "run-besip"))
        self.daemon = subprocess.Popen(lab.argv(lab.server, sys.executable, "-m", "besip_cli.daemon",
                                                "--datastore", self.data),
                                       env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert self.daemon.stderr.readline() == "besip-daemon: ready\n"

    def besip(self, *lines, check=0):
        return self.lab.besip(self.data, self.env, *lines, check=check)

    def play(self, *calls):
        """Play CALLS (rtpgen source lists, as Python text) in real time inside the namespace."""
        code = "import sys; sys.path.insert(0, %r); import rtpgen; rtpgen.play(%s)" % (
            os.path.dirname(os.path.abspath(__file__)), ", ".join(calls))
        subprocess.run(self.lab.argv(self.lab.server, sys.executable, "-c", code), check=True,
                       env=self.env, timeout=60)

    def rated(self, count, timeout=30):
        """The history once it holds COUNT calls (the daemon rates a call 2 s after BYE)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = json.loads(self.besip("show voice-quality calls | display json").stdout)
            if len(calls) >= count:
                return calls
            time.sleep(0.5)
        raise AssertionError("the monitor rated %d calls, not %d" % (len(calls), count))

    def close(self):
        self.kamailio.stop()
        self.daemon.terminate()
        self.daemon.wait(10)
        self.daemon.stderr.close()


@pytest.fixture
def monitor(tmp_path, env):
    lab = netns.Lab()
    box = None
    try:
        box = Monitor(lab, tmp_path, env)
        yield box
    finally:
        if box:
            box.close()
        lab.close()


A, B = ("127.0.0.1", 25060), ("127.0.0.2", 25062)
AM, BM = ("127.0.0.1", 30000), ("127.0.0.2", 30002)
CALL = ("rtpgen.call('live-1', %r, %r, %r, %r, 0.0, 3.2)" % (A, B, AM, BM),
        "rtpgen.rtp(%r, %r, 150, start=0.05, ssrc=7, lose=range(40, 52))" % (AM, BM),
        "rtpgen.rtp(%r, %r, 150, start=0.05, ssrc=8)" % (BM, AM))


@needs_netns
def test_live_calls_are_rated_stored_shown_served_and_alarmed(monitor):
    monitor.besip("configure", "monitoring voice-quality enabled true",
                  "monitoring voice-quality rtp-ports from 30000 to 30010",
                  "monitoring voice-quality alarm-threshold 4.2",
                  "monitoring voice-quality jitter-buffer type fixed size 60", "commit")
    netconf = subprocess.Popen([sys.executable, "-m", "besip_cli.netconf.stdio", "--datastore", monitor.data],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=monitor.env, text=True)
    netconf.stdin.write(HELLO + RPC % (1, '<create-subscription xmlns="urn:ietf:params:xml:ns:'
                                       'netconf:notification:1.0"/>'))
    netconf.stdin.flush()
    try:
        monitor.play(*CALL)
        (call,) = monitor.rated(1)
        assert (call["caller"], call["callee"], call["call_id"]) == ("100", "101", "live-1")
        to_callee, to_caller = call["directions"]
        assert (to_callee["direction"], to_callee["expected"], to_callee["lost"]) == ("->", 150, 12)
        assert (to_callee["bursts"], to_caller["lost"], to_caller["discarded"]) == (1, 0, 0)
        ppl, burst = 8.0, 12 * (1 - 0.08)
        delay = 20 + 60 + 20                      # assumed network, the fixed buffer, a packet
        assert to_callee["delay"] == delay
        assert abs(to_callee["mos"] - g107_mos(g107(0, 25.1, ppl, burst, delay, 2 * delay, delay))) < 0.01
        assert to_caller["mos"] > 4.2 > to_callee["mos"]

        table = monitor.besip("show voice-quality calls last 10").stdout.splitlines()
        assert table[0].split() == ["TIME", "CALLER", "CALLEE", "DIR", "CODEC", "PKTS", "LOSS%", "BURST",
                                    "JITTER", "DELAY", "R", "MOS"]
        assert table[1].split()[1:8] == ["100", "101", "->", "PCMU", "138", "8.0", "%.2f" % burst]
        low = json.loads(monitor.besip("show voice-quality calls mos-below 4.2 | display json").stdout)
        assert [c["id"] for c in low] == [call["id"]]
        assert json.loads(monitor.besip("show voice-quality calls mos-below 1.5 | display json").stdout) == []
        detail = monitor.besip("show voice-quality call %d" % call["id"]).stdout
        assert "12 lost (8.00%)" in detail and "network 20.0 ms, assumed" in detail

        lines = monitor.syslog.messages(wait_for="voice-quality")
        assert any("voice-quality 100 -> 101 to-callee MOS %.2f below 4.20" % to_callee["mos"] in m
                   for _, m in lines)

        out = ""
        deadline = time.monotonic() + 20
        while "voice-quality-alarm" not in out and time.monotonic() < deadline:
            out += os.read(netconf.stdout.fileno(), 65536).decode()
        assert "<mos>%.2f</mos>" % to_callee["mos"] in out and "<direction>to-callee</direction>" in out
    finally:
        netconf.kill()
        netconf.wait()

    state = monitor.besip("show running-config monitoring").stdout
    assert "enabled true" in state
    get = subprocess.run([sys.executable, "-m", "besip_cli.netconf.stdio", "--datastore", monitor.data],
                         input=HELLO + RPC % (1, '<get><filter type="subtree"><monitoring xmlns="urn:besip:'
                                              'params:xml:ns:yang:besip-monitoring"/></filter></get>'),
                         capture_output=True, text=True, env=monitor.env, timeout=60).stdout
    assert "<caller>100</caller>" in get and "<name>to-callee</name>" in get
    assert "<mos>%.2f</mos>" % to_callee["mos"] in get


@needs_netns
def test_a_flood_of_random_udp_on_the_rtp_ports_tracks_nothing(monitor):
    monitor.besip("configure", "monitoring voice-quality enabled true",
                  "monitoring voice-quality rtp-ports from 30000 to 40000", "commit")
    flood = ("rtpgen.flood(('127.0.0.3', 31000), ('127.0.0.1', 30000), 5000)",)
    monitor.play(*flood)
    status = json.loads(monitor.besip("show voice-quality status | display json").stdout)
    assert status["streams"] == 0 and status["calls"] == 0 and status["ignored"] > 0

