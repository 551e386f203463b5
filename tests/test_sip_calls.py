"""Real calls: a configuration committed with `besip -f` drives a real Kamailio (restarted
by the pipeline's reload command) and SIPp phones and trunk register and call through it."""

import re
import time

import pytest

import sipkit

pytestmark = pytest.mark.skipif(not sipkit.available(), reason="needs kamailio, kamcmd and sipp")

SECRETS = {"100": "Xk9-strong-1", "101": "Yp4-strong-2"}


@pytest.fixture(scope="module")
def pbx(tmp_path_factory, env):
    """Kamailio configured through besip on a free loopback port; yields a helper."""
    from conftest import Besip
    base = tmp_path_factory.mktemp("pbx")
    besip = Besip(base / "data", env)
    kamailio = sipkit.Kamailio(base / "data", base / "root", base / "run")
    port, trunk = sipkit.free_port(count=1), sipkit.free_port()
    script = base / "pbx.cfg"
    script.write_text("\n".join([
        "configure",
        "pbx mode proxy",
        "pbx domain pbx.test",
        "pbx sip listen 127.0.0.1 %d udp" % port,
        "pbx extension 100 display-name Alice secret %s" % SECRETS["100"],
        "pbx extension 101 display-name Bob secret %s" % SECRETS["101"],
        "pbx trunk carrier host 127.0.0.1 port %d register false" % trunk,
        "pbx route out pattern 9X. trunk carrier strip 1 prepend 420",
        "commit comment \"call test\"",
        "end", ""]))
    besip(file=script, check=0)
    helper = Helper(besip, kamailio, port, trunk, base)
    yield helper
    kamailio.stop()


class Helper:
    def __init__(self, besip, kamailio, port, trunk, tmp):
        self.besip, self.kamailio, self.port, self.trunk, self.tmp = besip, kamailio, port, trunk, tmp

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    def register(self, number, password, expect):
        path = sipkit.scenario(self.tmp, "register", expect=expect)
        return sipkit.sipp(self.target, path, number, number, password)

    def call(self, caller, number, final=200, hold=0, background=False):
        if final == 200:
            path = sipkit.scenario(self.tmp, "caller", user=caller, hold=hold)
        else:
            path = sipkit.scenario(self.tmp, "rejected", user=caller, final=final)
        return sipkit.sipp(self.target, path, number, caller, SECRETS[caller], background=background)

    def callee(self, number, ruri):
        """A SIPp phone registered as NUMBER waiting for one call; returns the Popen."""
        port = sipkit.free_port()
        path = sipkit.scenario(self.tmp, "register", expect=200)
        ok(sipkit.sipp(self.target, path, number, number, SECRETS[number], port=port))
        return self.answer(ruri, port)

    def answer(self, ruri, port):
        """A SIPp UAS on PORT answering one INVITE matching RURI; returns the Popen."""
        path = sipkit.scenario(self.tmp, "answer", ruri=ruri)
        proc = sipkit.sipp(None, path, "answer", background=True, port=port)
        deadline = time.time() + 5
        while sipkit.is_free(port) and time.time() < deadline:     # until SIPp has bound it
            time.sleep(0.05)
        return proc


def ok(proc):
    out = proc.stdout if isinstance(proc.stdout, str) else ""
    assert proc.returncode == 0, out[-2000:] + (proc.stderr or "")[-2000:]


def test_register_right_and_wrong_password(pbx):
    ok(pbx.register("100", SECRETS["100"], 200))
    ok(pbx.register("101", SECRETS["101"], 200))
    ok(pbx.register("100", "Wrong-pass-1", 403))
    failed = pbx.register("100", "Wrong-pass-1", 200)
    assert failed.returncode != 0


def test_extension_calls_extension(pbx):
    callee = pbx.callee("101", "INVITE sip:101@127[.]0[.]0[.]1:")
    call = pbx.call("100", "101")
    out, _ = callee.communicate(timeout=30)
    assert callee.returncode == 0, out[-3000:]
    ok(call)


def test_operational_state_shows_registrations_and_calls(pbx):
    from besip_cli.services import operational_state
    callee = pbx.callee("101", "INVITE sip:101@")
    registered = pbx.besip("show pbx registrations", check=0).stdout
    assert re.search(r"^101 +sip:101@127.0.0.1:\d+ +127.0.0.1 +\d+ ", registered, re.M), registered
    call = pbx.call("100", "101", hold=3000, background=True)
    deadline = time.time() + 10
    while "answered" not in pbx.besip("show pbx calls", check=0).stdout and time.time() < deadline:
        time.sleep(0.2)
    calls = operational_state(pbx.besip.directory, strict=True, root="pbx")["pbx"]["calls"]["call"]
    assert [(c["caller"], c["callee"], c["state"]) for c in calls.values()] == \
        [("sip:100@127.0.0.1", "sip:101@127.0.0.1", "answered")]
    assert call.wait(30) == 0 and callee.wait(30) == 0
    assert pbx.besip("show pbx calls", check=0).stdout.endswith("0 call(s) in progress.\n")


def test_state_without_kamailio_is_a_clear_error(besip):
    proc = besip("show pbx registrations", check=1)
    assert proc.stderr.startswith("-c:1: % PBX state unavailable: Kamailio does not answer on ")


def test_unknown_number_gets_404(pbx):
    ok(pbx.call("100", "555", final=404))


def test_outbound_route_reaches_trunk_stripped_and_prefixed(pbx):
    trunk = pbx.answer("INVITE sip:4201234567@127[.]0[.]0[.]1:%d " % pbx.trunk, pbx.trunk)
    ok(pbx.call("100", "91234567"))
    out, _ = trunk.communicate(timeout=30)
    assert trunk.returncode == 0, out[-2000:]


def test_registrations_survive_the_restart_of_a_commit(pbx):
    port = sipkit.free_port()
    ok(sipkit.sipp(pbx.target, sipkit.scenario(pbx.tmp, "register", expect=200), "101", "101",
                   SECRETS["101"], port=port))
    before = pbx.kamailio.pid()
    pbx.besip.config("pbx sip user-agent Restarted", "commit")
    assert pbx.kamailio.pid() != before
    assert "127.0.0.1:%d" % port in pbx.kamailio.rpc("ul.dump")
    callee = pbx.answer("INVITE sip:101@127[.]0[.]0[.]1:%d " % port, port)
    call = pbx.call("100", "101")
    out, _ = callee.communicate(timeout=30)
    assert callee.returncode == 0, out[-3000:] + call.stdout[-3000:] + call.stderr[-2000:]
    ok(call)


def test_disabled_extension_cannot_register(pbx):
    ok(pbx.register("101", SECRETS["101"], 200))
    pbx.besip.config("pbx extension 101 enabled false", "commit")
    ok(pbx.register("101", SECRETS["101"], 403))
    ok(pbx.register("100", SECRETS["100"], 200))
    pbx.besip.config("pbx extension 101 enabled true", "commit")
    ok(pbx.register("101", SECRETS["101"], 200))


def test_listen_port_change_moves_kamailio(pbx):
    old, new = pbx.port, sipkit.free_port()
    pbx.besip.config("no pbx sip listen 127.0.0.1 %d udp" % old,
                     "pbx sip listen 127.0.0.1 %d udp" % new, "commit")
    pbx.port = new
    ok(pbx.register("100", SECRETS["100"], 200))
    pbx.port = old
    assert pbx.register("100", SECRETS["100"], 200).returncode != 0
    pbx.port = new


def test_proxy_pbx_sends_features_to_asterisk_and_survives_its_absence(pbx):
    """Voicemail access goes to Asterisk's internal port (a SIPp UAS stands in for it);
    with Asterisk down, a recorded extension-to-extension call still connects directly."""
    if not sipkit.is_free(5080):
        pytest.skip("Asterisk's internal port 127.0.0.1:5080 is taken by another program")
    pbx.besip.config("pbx mode proxy-pbx", "pbx extension 101 recording always", "commit")
    try:
        asterisk = pbx.answer("INVITE sip:[*]97@", 5080)
        ok(pbx.call("100", "*97"))
        out, _ = asterisk.communicate(timeout=30)
        assert asterisk.returncode == 0, out[-5000:]
        callee = pbx.callee("101", "INVITE sip:101@127[.]0[.]0[.]1:")
        call = pbx.call("100", "101")
        out, _ = callee.communicate(timeout=30)
        assert callee.returncode == 0, out[-3000:]
        ok(call)
    finally:
        pbx.besip.config("pbx mode proxy", "pbx extension 101 recording never", "commit")


def test_proxy_pbx_sends_trunk_calls_through_asterisk(pbx):
    """In proxy-pbx mode a call for a trunk goes to Asterisk's internal port with the number
    as dialled: Asterisk answers the provider's challenge (the phone cannot) and applies
    strip, prepend and max-channels."""
    if not sipkit.is_free(5080):
        pytest.skip("Asterisk's internal port 5080 is in use on this machine")
    pbx.besip.config("pbx mode proxy-pbx", "commit")
    try:
        asterisk = pbx.answer("INVITE sip:91234567@", 5080)
        ok(pbx.call("100", "91234567"))
        out, _ = asterisk.communicate(timeout=30)
        assert asterisk.returncode == 0, out[-5000:]
    finally:
        pbx.besip.config("pbx mode proxy", "commit")


@pytest.mark.parametrize("lines, message", [
    (["pbx route bad pattern [9-1]X trunk carrier"], "has the range 9-1, which goes down"),
    (["pbx route bad pattern [1-2-3]X trunk carrier"], "is malformed at '[1-2-3]X'"),
    (["pbx sip listen 10.77.0.1%eth0 5070 udp"], "a zone index (%eth0) cannot be listened on"),
])
def test_what_would_stop_kamailio_is_refused_before_its_restart(pbx, lines, message):
    before = pbx.kamailio.pid()
    refused = pbx.besip.config(*lines, "commit", check=1)
    assert message in refused.stderr and "% commit refused: " in refused.stderr, refused.stderr
    assert pbx.kamailio.pid() == before
    ok(pbx.register("100", SECRETS["100"], 200))


def test_a_commit_kamailio_fails_on_keeps_the_registrations(pbx):
    ports = {number: sipkit.free_port() for number in ("100", "101")}
    for number, port in ports.items():
        ok(sipkit.sipp(pbx.target, sipkit.scenario(pbx.tmp, "register", expect=200), number,
                       number, SECRETS[number], port=port))
    refused = pbx.besip.config("pbx sip listen 192.0.2.1 5070 udp", "commit", check=1)
    assert "% commit refused: kamailio reload failed" in refused.stderr, refused.stderr
    dump = pbx.kamailio.rpc("ul.dump")
    for number, port in ports.items():
        assert "sip:%s@127.0.0.1:%d" % (number, port) in dump, dump


def test_a_phone_behind_nat_stays_reachable_after_the_restart_of_a_commit(pbx):
    """The phone's Contact names a private address: Kamailio reaches it at the address the
    REGISTER came from (received), also after the restart a commit causes."""
    port = sipkit.free_port()
    path = sipkit.scenario(pbx.tmp, "register", expect=200)
    with open(path) as f:
        text = f.read().replace("Contact: <sip:[service]@[local_ip]:[local_port]>",
                                "Contact: <sip:[service]@10.99.0.7:5062>")
    with open(path, "w") as f:
        f.write(text)
    ok(sipkit.sipp(pbx.target, path, "101", "101", SECRETS["101"], port=port))
    pbx.besip.config("pbx sip user-agent Behind-NAT", "commit")
    assert "sip:127.0.0.1:%d" % port in pbx.kamailio.rpc("ul.dump")
    callee = pbx.answer("INVITE sip:101@10[.]99[.]0[.]7:5062", port)
    call = pbx.call("100", "101")
    out, _ = callee.communicate(timeout=30)
    assert callee.returncode == 0, out[-3000:] + call.stdout[-3000:]
    ok(call)


def test_netconf_get_serves_the_registrations(pbx):
    """A SIPp phone registers to the real Kamailio; ncclient's <get> shows it, through a
    subtree filter and an XPath filter, from the same state hook as `show pbx`."""
    import socket
    import threading
    from besip_cli.ssh.server import serve_forever
    from ncclient import manager
    pbx.besip.config("system user nc role admin password Nc0nf-pass-1", "commit")
    callee = pbx.callee("101", "INVITE sip:101@")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()
    thread = threading.Thread(target=serve_forever, args=(listener, pbx.besip.directory, stop), daemon=True)
    thread.start()
    ns = "urn:besip:params:xml:ns:yang:besip-pbx"
    try:
        with manager.connect(host="127.0.0.1", port=listener.getsockname()[1], username="nc",
                             password="Nc0nf-pass-1", hostkey_verify=False, look_for_keys=False,
                             allow_agent=False, timeout=30) as m:
            subtree = m.get(("subtree", '<pbx xmlns="%s"><registrations/></pbx>' % ns)).data_xml
            assert re.search(r"<extension>101</extension>\s*<contact>sip:101@127\.0\.0\.1:\d+</contact>",
                             subtree), subtree
            assert "<mode>" not in subtree and "<source-address>127.0.0.1</source-address>" in subtree
            xpath = m.get(("xpath", "/pbx/registrations/registration[extension='101']/expires")).data_xml
            assert re.search(r"<expires>\d+</expires>", xpath) and "<source-address>" not in xpath, xpath
            whole = m.get().data_xml
            assert "<registrations>" in whole and "<mode>proxy</mode>" in whole
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        callee.kill()
        callee.wait(10)
