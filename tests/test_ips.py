"""The IPS (issue 12): its configuration's bad input, the nftables table it renders, the
BESIP daemon that bans, and floods from attacker namespaces against the real Kamailio."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

import netns
import sipkit
from test_audit import Syslog

needs_netns = pytest.mark.skipif(not netns.available(), reason="needs root, ip and nft")


@pytest.fixture
def lab():
    lab = netns.Lab()
    yield lab
    lab.close()


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("lines, message", [
    (["security ips allow 10.0.0.0/8", "security ips deny 10.1.0.0/16"],
     "security ips allow 10.0.0.0/8 overlaps security ips deny 10.1.0.0/16: an address "
     "cannot be both allowed and denied"),
    (["security ips deny 2001:db8::/32", "security ips allow 2001:db8:1::/48 comment office"],
     "security ips allow 2001:db8:1::/48 overlaps security ips deny 2001:db8::/32: an address "
     "cannot be both allowed and denied"),
    (["pbx sip listen 203.0.113.5 5060 udp", "security ips deny 203.0.113.0/24"],
     "security ips deny 203.0.113.0/24 covers 203.0.113.5, this box's own address "
     "(pbx sip listen 203.0.113.5 5060 udp)"),
    (["security ips deny 0.0.0.0/0"],
     "security ips deny 0.0.0.0/0 covers 127.0.0.0, this box's own address (loopback)"),
    (["security ips ban time 3600 maximum 600"],
     "security ips ban maximum 600 is shorter than ban time 3600"),
])
def test_contradictory_lists_are_refused_at_commit_naming_the_paths(besip, lines, message):
    besip("show running-config", check=0)
    before = besip.show()
    proc = besip("configure", *lines, "commit", check=1)
    assert proc.stderr == "-c:%d: %% commit refused: %s\n" % (len(lines) + 2, message)
    proc = besip("configure", *lines, "commit check", check=1)
    assert proc.stderr == "-c:%d: %% Validation failed: %s\n" % (len(lines) + 2, message)
    assert besip.show() == before


@pytest.mark.parametrize("statement, word", [
    ("security ips allow 10.0.0.0/33", "10.0.0.0/33"),
    ("security ips deny 300.1.2.0/24", "300.1.2.0/24"),
    ('security ips allow 10.0.0.0/8 comment "a\\"b"', '"a\\"b"'),
    ("security ips scanner-user-agent x\\y", "x\\y"),
])
def test_invalid_prefixes_and_hostile_text_are_refused_with_a_caret(besip, statement, word):
    proc = besip("configure", statement, check=1)
    first, caret, error = proc.stderr.splitlines()[:3]
    assert first == "-c:2: " + statement
    assert caret.index("^") == first.index(word)
    assert error.startswith("-c:2: % Invalid input detected at '^' marker.")


def test_host_bits_are_cleared_and_comments_kept(besip):
    besip("configure", "security ips allow 192.0.2.7/24 comment \"head office NAT\"", "commit", check=0)
    assert besip.show("show running-config security") == \
        'security ips allow 192.0.2.0/24\n comment "head office NAT"\n!\n'


# --------------------------------------------------------------------------- kernel layer

def nft_file(besip):
    return os.path.join(besip.directory, "root", "etc", "besip", "ips.nft")


def table(lab, ns=None):
    """The `inet besip` table of namespace NS as nft's JSON objects (None: no table)."""
    proc = lab.exec(ns or lab.server, "nft", "-j", "list", "table", "inet", "besip", check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)["nftables"]


def elements(objects, name):
    for obj in objects:
        if "set" in obj and obj["set"]["name"] == name:
            return obj["set"].get("elem", [])
    raise KeyError(name)


@needs_netns
def test_the_rendered_table_loads_and_a_disabled_ips_removes_it(besip, lab):
    besip("configure", "security ips enabled true",
          "security ips allow 192.0.2.0/24 comment \"head office NAT\"",
          "security ips allow 2001:db8:1::/48", "security ips deny 198.51.100.0/24 comment scanners",
          "security ips allow 10.9.0.0/16 comment \"%s\"" % ("\u20ac" * 64),
          "pbx trunk carrier host 203.0.113.9 register false", "commit", check=0)
    lab.exec(lab.server, "nft", "-f", nft_file(besip))
    objects = table(lab)
    allow = elements(objects, "allow4")
    assert {"elem": {"val": {"prefix": {"addr": "192.0.2.0", "len": 24}}, "comment": "head office NAT"}} in allow
    assert {"elem": {"val": "203.0.113.9", "comment": "pbx trunk carrier"}} in allow
    long = [e for e in allow if e.get("elem", {}).get("val") == {"prefix": {"addr": "10.9.0.0", "len": 16}}]
    assert long[0]["elem"]["comment"] == "\u20ac" * 42       # cut to 128 bytes (126: whole characters)
    assert elements(objects, "allow6") == [{"prefix": {"addr": "2001:db8:1::", "len": 48}}]
    assert elements(objects, "deny4") == [{"elem": {"val": {"prefix": {"addr": "198.51.100.0", "len": 24}},
                                                    "comment": "scanners"}}]
    lab.exec(lab.server, "nft", "-f", nft_file(besip))          # loading again replaces it
    assert len([o for o in table(lab) if "table" in o]) == 1
    besip("configure", "security ips ban-peers true", "commit", check=0)
    lab.exec(lab.server, "nft", "-f", nft_file(besip))
    assert {"elem": {"val": "203.0.113.9", "comment": "pbx trunk carrier"}} not in elements(table(lab), "allow4")
    besip("configure", "security ips enabled false", "commit", check=0)
    lab.exec(lab.server, "nft", "-f", nft_file(besip))
    assert table(lab) is None
    assert lab.exec(lab.server, "nft", "list", "ruleset").stdout == ""
    lab.exec(lab.server, "nft", "-f", nft_file(besip))           # and stays removed
    assert table(lab) is None


# --------------------------------------------------------------------------- the real thing

SECRET = "Xk9-strong-1"


class Box:
    """A server namespace running the real Kamailio (restarted by commits), the BESIP daemon
    and `besip`, with a phone, an attacker and an allow-listed office in their own
    namespaces."""

    def __init__(self, lab, base, env):
        self.lab, self.env = lab, env
        self.phone, self.attacker, self.office = (lab.host(n) for n in ("phone", "attacker", "office"))
        self.guesser, self.prober = lab.host("guesser"), lab.host("prober")
        self.data = str(base / "data")
        self.kamailio = sipkit.Kamailio(self.data, base / "root", base / "run")
        with open(os.path.join(self.data, "services.toml"), "a") as f:
            f.write('[ips]\nreload = "%s -m besip_cli.daemon --datastore %s reload"\n'
                    '[besip]\nruntime = "%s"\n' % (sys.executable, self.data, base / "run-besip"))
        self.tmp = base
        self.daemon = None

    def besip(self, *lines, check=0):
        return self.lab.besip(self.data, self.env, *lines, check=check)

    def netconf_get(self, subtree):
        """The <data> of a NETCONF <get> with SUBTREE as filter, from the local besip-netconf."""
        rpc = ('<?xml version="1.0"?><hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
               '<capabilities><capability>urn:ietf:params:netconf:base:1.0</capability>'
               '</capabilities></hello>]]>]]><rpc message-id="1" xmlns="urn:ietf:params:xml:ns:'
               'netconf:base:1.0"><get><filter type="subtree">%s</filter></get></rpc>]]>]]>'
               % subtree)
        proc = subprocess.run([sys.executable, "-m", "besip_cli.netconf.stdio", "--datastore", self.data],
                              input=rpc, capture_output=True, text=True, env=self.env, timeout=60)
        assert "rpc-error" not in proc.stdout, proc.stdout
        return proc.stdout

    def start_daemon(self):
        sock = os.path.join(str(self.tmp / "run-besip"), "daemon.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        self.daemon = subprocess.Popen(self.lab.argv(self.lab.server, sys.executable, "-m",
                                                     "besip_cli.daemon", "--datastore", self.data),
                                       env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True)
        assert self.daemon.stderr.readline() == "besip-daemon: ready\n"

    def stop_daemon(self):
        self.daemon.terminate()
        self.daemon.wait(10)
        self.daemon.stderr.close()

    def sipp(self, host, scenario, service, *extra, timeout=30):
        argv = ["sipp", "%s:5060" % self.lab.server_address(host), "-sf", scenario, "-i",
                getattr(self, host), "-p", "5070", "-s", service, "-nostdin", "-timeout",
                "%ds" % timeout, "-timeout_error"] + list(extra)
        return self.lab.exec(self.lab.ns(host), *argv, check=False)

    def register(self, host="phone", password=SECRET, expect=200, user="100"):
        path = sipkit.scenario(self.tmp, "register", expect=expect)
        return self.sipp(host, path, user, "-au", user, "-ap", password, "-m", "1",
                         "-recv_timeout", "1500", timeout=10)

    def flood(self, host, method="REGISTER", count=3000, rate=2000, ua="flood"):
        path = sipkit.scenario(self.tmp, "flood", method=method, ua=ua)
        return subprocess.Popen(self.lab.argv(self.lab.ns(host), "sipp", "%s:5060" % self.lab.server_address(host),
                                              "-sf", path, "-i", getattr(self, host), "-p", "5071", "-s", "100",
                                              "-nostdin", "-m", str(count), "-r", str(rate), "-timeout", "10s"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def table(self):
        return table(self.lab)

    def banned(self, address):
        """{set name: packets dropped} of the ban and flood sets holding ADDRESS."""
        out = {}
        for obj in self.table() or []:
            info = obj.get("set", {})
            if not info.get("name", "").startswith(("ban", "flood_")):
                continue
            for elem in info.get("elem", []):
                if isinstance(elem, dict) and elem.get("elem", {}).get("val") == address:
                    out[info["name"]] = elem["elem"].get("counter", {}).get("packets", 0)
        return out

    def banned_left(self, address):
        """Seconds left of ADDRESS's entry in ban4 (nft's own figure)."""
        for obj in self.table() or []:
            if obj.get("set", {}).get("name") == "ban4":
                for elem in obj["set"].get("elem", []):
                    if elem["elem"]["val"] == address:
                        return elem["elem"]["expires"]
        return None

    def kamailio_registers(self):
        out = self.kamailio.rpc("stats.get_statistics", "rcv_requests_register")
        return int(re.search(r"rcv_requests_register = (\d+)", out).group(1))

    def close(self):
        if self.daemon and self.daemon.poll() is None:
            self.stop_daemon()
        self.kamailio.stop()


@pytest.fixture(scope="module")
def box(tmp_path_factory, env):
    if not (netns.available() and sipkit.available()):
        pytest.skip("needs root, ip, nft, kamailio and sipp")
    lab = netns.Lab()
    base = tmp_path_factory.mktemp("ips")
    log = Syslog(base / "log")
    box = Box(lab, base, dict(env, BESIP_SYSLOG=log.path))
    box.syslog = log
    try:
        lab.exec(lab.server, "nft", "add table inet site; add chain inet site input "
                 "{ type filter hook input priority 0; ct state established,related accept; }")
        box.start_daemon()
        box.besip("configure", "pbx mode proxy", "pbx domain pbx.test",
                  "pbx extension 100 secret %s" % SECRET, "security ips enabled true",
                  "security ips ban time 6 maximum 60",
                  "security ips allow %s/32 comment \"head office NAT\"" % box.office, "commit")
        yield box
    finally:
        box.close()
        lab.close()
        log.close()


def wait_for(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_register_flood_is_dropped_in_the_kernel_while_the_phone_registers(box):
    assert box.register().returncode == 0
    before = box.kamailio_registers()
    flood = box.flood("attacker", count=3000, rate=2000)
    try:
        results = [box.register().returncode for _ in range(4)]
    finally:
        flood.wait(20)
    dropped = box.banned(box.attacker)
    assert set(dropped) == {"flood_register4"}, dropped
    assert dropped["flood_register4"] > 2000
    assert results == [0, 0, 0, 0]
    reached = box.kamailio_registers() - before - 2 * len(results)
    assert reached <= 45, reached              # the burst (40), then the kernel drops
    lines = box.besip("show security blocked").stdout.splitlines()
    assert lines[0].split() == ["ADDRESS", "REASON", "SINCE", "LEFT", "HITS", "DROPPED"]
    row = [line.split() for line in lines[1:] if line.startswith(box.attacker + " ")]
    assert row and row[0][1] == "register-flood" and int(row[0][-1]) > 2000, lines


def test_a_ban_expires(box):
    assert wait_for(lambda: not box.banned(box.attacker), 10)
    assert box.register("attacker").returncode == 0


def test_an_allow_listed_office_is_never_limited_or_banned(box):
    flood = box.flood("office", count=600, rate=1000)
    flood.wait(20)
    guess = box.register("office", password="Wrong-pass-9", expect=403)
    for _ in range(6):
        box.register("office", password="Wrong-pass-9", expect=403)
    assert box.banned(box.office) == {}
    assert guess.returncode == 0 and box.register("office").returncode == 0


def test_password_guessing_is_banned_by_the_daemon_and_cleared(box):
    results = [box.register("guesser", password="Wrong-pass-%d" % i, expect=403).returncode
               for i in range(5)]
    assert results == [0, 0, 0, 0, 1], results     # the fifth failure bans: no 403 comes
    assert wait_for(lambda: "ban4" in box.banned(box.guesser), 3)
    assert box.lab.exec(box.lab.server, "conntrack", "-L", "-s", box.guesser).stdout == ""
    assert box.register().returncode == 0          # conntrack does track flows here:
    assert box.lab.exec(box.lab.server, "conntrack", "-L", "-s", box.phone).stdout != ""
    show = box.besip("show security blocked").stdout
    assert re.search(r"^%s +auth-failures 5 in 60s +\S+ +\d+s +\d+ +\d+$" % re.escape(box.guesser), show, re.M), show
    state = box.netconf_get('<security xmlns="urn:besip:params:xml:ns:yang:besip-security"><ips>'
                            '<blocked/></ips></security>')        # the same, as NETCONF <get>
    assert re.search(r"<source><address>%s</address><reason>auth-failures 5 in 60s</reason>"
                     r"<since>[0-9T:-]+Z</since><left>\d+</left><hits>\d+</hits><dropped>\d+</dropped>"
                     % re.escape(box.guesser), state), state
    assert box.besip("clear security blocked %s" % box.guesser).stdout == "1 source(s) unblocked.\n"
    assert box.banned(box.guesser) == {}
    # each ban and unban is an event in `show security events` and a line in syslog
    events = box.besip("show security events last 1000").stdout
    guessed = re.escape(box.guesser)
    assert re.search(r"^\S+ \S+ +%s +ban +auth-failures 5 in 60s for \d+s$" % guessed, events, re.M), events
    assert re.search(r"^\S+ \S+ +%s +unban +cleared$" % guessed, events, re.M), events
    logged = [m for _p, m in box.syslog.messages(wait_for="ips unban %s" % box.guesser)]
    assert any(m.startswith("ips ban %s: auth-failures" % box.guesser) for m in logged), logged
    assert "ips unban %s: cleared" % box.guesser in logged, logged
    assert box.besip("show security events last 1").stdout.count("\n") == 2


def test_extension_enumeration_is_banned_after_five_unknown_users(box):
    results = [box.register("prober", user=str(200 + i % 3), expect=403).returncode for i in range(6)]
    assert results == [0] * 6           # three names, twice each: counted once per name
    results = [box.register("prober", user=str(300 + i), expect=403).returncode for i in range(3)]
    assert results == [0, 1, 1]         # the fifth distinct name bans
    assert "ban4" in box.banned(box.prober)
    assert re.search(r"^%s +unknown-users 5 in 60s " % re.escape(box.prober),
                     box.besip("show security blocked").stdout, re.M)


SEND = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for event in sys.argv[1:]: s.sendto(event.encode('latin-1'), ('127.0.0.1', 5065))")


def test_malformed_events_are_ignored_and_the_daemon_keeps_serving(box):
    bad = ["\xff\xfe", "besip-ips 1 not-an-address scanner", "besip-ips 2 10.99.0.1 scanner",
           "besip-ips 1 10.99.0.1 no-such-reason", "besip-ips 1", "x" * 3000,
           "besip-ips 1 10.99.0.2 scanner " + "\x1b[2J" * 100]
    box.lab.exec(box.lab.server, sys.executable, "-c", SEND, *bad, "besip-ips 1 10.99.0.1 scanner")
    assert wait_for(lambda: "ban4" in box.banned("10.99.0.1"), 3)
    assert box.daemon.poll() is None
    show = box.besip("show security blocked").stdout
    assert "\x1b" not in show and "10.99.0.2 " in show
    assert box.besip("clear security blocked all").stdout.endswith("source(s) unblocked.\n")
    assert box.banned("10.99.0.1") == {}


def test_repeat_offenders_are_banned_longer_up_to_the_maximum(box):
    lefts = []
    for _ in range(5):
        box.lab.exec(box.lab.server, sys.executable, "-c", SEND, "besip-ips 1 10.99.0.3 scanner")
        assert wait_for(lambda: "ban4" in box.banned("10.99.0.3"), 3)
        lefts.append(box.banned_left("10.99.0.3"))
        box.besip("clear security blocked 10.99.0.3")
    expected = [6, 12, 24, 48, 60]          # ban time 6, escalation 2, maximum 60 (not 96)
    assert all(want - 2 <= left <= want for left, want in zip(lefts, expected)), lefts


def test_bans_survive_a_daemon_restart_and_a_lost_table(box):
    box.flood("attacker", method="OPTIONS", count=3, rate=10, ua="friendly-scanner").wait(10)
    assert wait_for(lambda: "ban4" in box.banned(box.attacker), 3)
    box.stop_daemon()
    proc = box.besip("configure", "security ips ban time 7", "commit", check=1)
    assert "% commit refused: ips reload failed: besip-daemon: the BESIP daemon does not answer on " \
        in proc.stderr, proc.stderr
    box.lab.exec(box.lab.server, "nft", "delete", "table", "inet", "besip")
    box.start_daemon()
    assert "ban4" in box.banned(box.attacker)
    assert "scanner" in box.besip("show security blocked").stdout


def test_a_disabled_ips_leaves_no_rules_behind(box):
    box.besip("configure", "security ips enabled false", "commit")
    assert box.table() is None
    assert "besip" not in box.lab.exec(box.lab.server, "nft", "list", "ruleset").stdout
    with open(os.path.join(str(box.tmp), "root", "etc", "kamailio", "kamailio.cfg")) as f:
        assert "IPS" not in f.read()
    assert box.register().returncode == 0


def test_ips_state_without_the_daemon_is_a_clear_error(besip):
    for command in ("show security blocked", "clear security blocked all"):
        proc = besip(command, check=1)
        assert proc.stderr.startswith("-c:1: % IPS state unavailable: the BESIP daemon does not "
                                      "answer on "), proc.stderr
    proc = besip("clear security blocked 10.0.0.300", check=1)
    assert proc.stderr.splitlines()[-1] == "-c:1: % an IPv4 or IPv6 address, or all, is expected"


def test_the_event_history_keeps_the_newest_events(tmp_path, monkeypatch):
    from besip_cli.security import store
    monkeypatch.setattr(store, "KEEP_EVENTS", 5)
    monkeypatch.setenv("BESIP_SYSLOG", "")
    history = store.Store(str(tmp_path / "security.db"))
    try:
        for i in range(12):
            history.event("192.0.2.%d" % i, "ban", "test\n%d" % i)
        assert [row[1] for row in history.events(100)] == ["192.0.2.%d" % i for i in range(7, 12)]
    finally:
        history.close()
