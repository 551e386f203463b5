"""The rendered Asterisk files in a real Asterisk 22 (Debian sid chroot, see
tests/asterisk_kit.py): commits reload it through services.toml, `pjsip show endpoints`
and `dialplan show` must list what the configuration says, errors and warnings our files
cause fail the test, and SIPp phones register and call through it (pbx mode)."""

import os
import re
import time

import pytest

import asterisk_kit
import sipkit
from test_sip_calls import ok

pytestmark = pytest.mark.skipif(bool(asterisk_kit.available()) or not sipkit.available(),
                                reason=asterisk_kit.available() or "needs sipp")

SECRETS = {"100": "Xk9-strong-1", "101": "Yp4-strong-2", "102": "Zr7-strong-3"}


@pytest.fixture(scope="module")
def pbx(tmp_path_factory, env):
    """besip in pbx mode on a free loopback port, reloading one real Asterisk."""
    from conftest import Besip
    base = tmp_path_factory.mktemp("asterisk")
    root, data = base / "root", base / "data"
    data.mkdir()
    asterisk = asterisk_kit.Asterisk(root)
    port, trunk = sipkit.free_port(), sipkit.free_port()
    (data / "services.toml").write_text('root = "%s"\n' % root + asterisk.services_toml(False))
    besip = Besip(data, env)
    try:
        besip.config("pbx mode pbx", "pbx domain pbx.test",
                     "pbx sip listen 127.0.0.1 %d udp" % port,
                     *["pbx extension %s secret %s" % kv for kv in SECRETS.items()],
                     "pbx extension 100 display-name Alice codec [ pcma pcmu g722 gsm ]",
                     "pbx extension 101 voicemail pin 4711",
                     "pbx trunk carrier host 127.0.0.2 port %d username 4202000 secret Tr-secret-9"
                     % trunk,
                     "pbx route out pattern 9X. trunk carrier strip 1", "commit")
        asterisk.start()
        (data / "services.toml").write_text('root = "%s"\n' % root + asterisk.services_toml())
        yield Helper(besip, asterisk, port, trunk, base)
    finally:
        asterisk.stop()


INFO = """
  <send retrans="500">
    <![CDATA[
      INFO [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:%(user)s@[remote_ip]>;tag=[call_number]
      To: <sip:[service]@[remote_ip]>[peer_tag_param]
      Call-ID: [call_id]
      [routes]
      CSeq: %(cseq)d INFO
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=%(digit)s
      Duration=160

    ]]>
  </send>
  <recv response="200"/>
  <pause milliseconds="200"/>
"""


class Helper:
    def __init__(self, besip, asterisk, port, trunk, tmp):
        self.besip, self.asterisk, self.port, self.trunk, self.tmp = besip, asterisk, port, trunk, tmp

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    def scenario(self, name, **values):
        """A tests/sipp scenario for Asterisk, which challenges INVITEs with 401, not 407."""
        path = sipkit.scenario(self.tmp, name, **values)
        with open(path) as f:
            text = f.read().replace('response="407"', 'response="401"')
        with open(path, "w") as f:
            f.write(text)
        return path

    def register(self, number, port=None):
        ok(sipkit.sipp(self.target, self.scenario("register", expect=200), number, number,
                       SECRETS[number], port=port))

    def call(self, caller, number, final=200, hold=0, background=False):
        if final == 200:
            path = self.scenario("caller", user=caller, hold=hold)
        else:
            path = self.scenario("rejected", user=caller, final=final)
        return sipkit.sipp(self.target, path, number, caller, SECRETS[caller], background=background)

    def dtmf_call(self, caller, number, digits):
        """A call from CALLER that sends DIGITS as SIP INFO (dtmf-relay) once answered."""
        path = self.scenario("caller", user=caller, hold=2000)
        with open(path) as f:
            text = f.read()
        info = "".join(INFO % {"cseq": 3 + i, "user": caller, "digit": d} for i, d in enumerate(digits))
        text = text.replace('<pause milliseconds="2000"/>', info + '<pause milliseconds="2000"/>')
        text = text.replace("CSeq: 3 BYE", "CSeq: %d BYE" % (3 + len(digits)))
        with open(path, "w") as f:
            f.write(text)
        return sipkit.sipp(self.target, path, number, caller, SECRETS[caller])

    def callee(self, number, ruri):
        """A SIPp phone registered as NUMBER answering one call; returns the Popen."""
        port = sipkit.free_port()
        self.register(number, port)
        path = sipkit.scenario(self.tmp, "answer", ruri=ruri)
        proc = sipkit.sipp(None, path, "answer", background=True, port=port)
        deadline = time.time() + 5
        while sipkit.is_free(port) and time.time() < deadline:
            time.sleep(0.05)
        return proc

    def commit(self, *lines):
        """Commit LINES (reloading Asterisk); the problems our files caused, if any."""
        since = len(self.asterisk.log())
        self.besip.config(*lines, "commit")
        return self.asterisk.problems(since)


def test_every_extension_and_trunk_loads(pbx):
    endpoints = pbx.asterisk.cli("pjsip show endpoints")
    for name in list(SECRETS) + ["trunk-carrier"]:
        assert " %s " % name in endpoints or " %s/" % name in endpoints, endpoints
    dialplan = pbx.asterisk.cli("dialplan show")
    for context in ("besip-local", "besip-phones", "besip-voicemail", "besip-route-out",
                    "besip-from-trunk"):
        assert "'%s'" % context in dialplan, dialplan
    assert pbx.asterisk.problems() == [], "\n".join(pbx.asterisk.problems())


def test_every_codec_of_the_model_is_known_to_asterisk(pbx):
    assert pbx.commit("pbx extension 102 codec [ pcmu pcma g722 g729 gsm opus ilbc ]") == []
    shown = pbx.asterisk.cli("pjsip show endpoint 102")
    assert "(ulaw|alaw|g722|g729|gsm|opus|ilbc)" in shown, shown



def test_trunk_username_without_secret_commits(pbx):
    """A trunk authenticating by address only: no auth object, the registration without one."""
    assert pbx.commit("no pbx trunk carrier secret") == []
    assert "trunk-carrier-auth" not in pbx.asterisk.cli("pjsip show auths")
    assert "trunk-carrier-reg" in pbx.asterisk.cli("pjsip show registrations")
    assert pbx.commit("pbx trunk carrier secret Tr-secret-9") == []
    assert "trunk-carrier-auth" in pbx.asterisk.cli("pjsip show auths")


def test_media_goes_through_asterisk_with_nat_handling(pbx):
    for endpoint in ("100", "trunk-carrier"):
        shown = pbx.asterisk.cli("pjsip show endpoint %s" % endpoint)
        for option, value in (("direct_media", "false"), ("rtp_symmetric", "true"),
                              ("force_rport", "true")):
            assert re.search(r"^ %s +: %s$" % (option, value), shown, re.M), (endpoint, option)
    assert re.search(r"^ rewrite_contact +: true$", pbx.asterisk.cli("pjsip show endpoint 100"), re.M)


def test_register_and_call_between_extensions(pbx):
    callee = pbx.callee("102", "INVITE sip:102@127[.]0[.]0[.]1:")
    call = pbx.call("100", "102")
    out, _ = callee.communicate(timeout=30)
    assert callee.returncode == 0, out[-3000:] + call.stdout[-2000:]
    ok(call)
    assert pbx.asterisk.problems() == [], "\n".join(pbx.asterisk.problems())


def test_call_limit_makes_a_second_call_busy(pbx):
    assert pbx.commit("pbx extension 102 call-limit 1") == []
    try:
        callee = pbx.callee("102", "INVITE sip:102@127[.]0[.]0[.]1:")
        first = pbx.call("100", "102", hold=4000, background=True)
        deadline = time.time() + 10
        while "Up" not in pbx.asterisk.cli("core show channels") and time.time() < deadline:
            time.sleep(0.1)
        ok(pbx.call("101", "102", final=486))
        assert first.wait(30) == 0, first.stdout.read()[-3000:]
        assert callee.wait(30) == 0
    finally:
        assert pbx.commit("pbx extension 102 call-limit 2") == []


def test_on_demand_recording_starts_with_star_3(pbx):
    """Extension 102 records on demand: its caller dials *3 during the call (SIP INFO) and
    Asterisk's automixmon writes the recording."""
    assert re.search(r"One Touch MixMonitor +\*3", pbx.asterisk.cli("features show")), \
        pbx.asterisk.cli("features show")
    assert pbx.commit("pbx extension 102 recording on-demand") == []
    monitor = pbx.asterisk.spool("monitor")
    before = set(os.listdir(monitor)) if os.path.isdir(monitor) else set()
    try:
        callee = pbx.callee("102", "INVITE sip:102@127[.]0[.]0[.]1:")
        ok(pbx.dtmf_call("100", "102", "*3"))
        assert callee.wait(30) == 0
        deadline = time.time() + 5
        while not (os.path.isdir(monitor) and set(os.listdir(monitor)) - before) and time.time() < deadline:
            time.sleep(0.1)
        assert os.path.isdir(monitor) and set(os.listdir(monitor)) - before, pbx.asterisk.log()[-3000:]
        assert pbx.asterisk.problems() == [], "\n".join(pbx.asterisk.problems())
    finally:
        assert pbx.commit("pbx extension 102 recording never") == []


def test_trunk_registers_its_number_and_calls_to_it_ring_the_inbound_extension(pbx):
    """The registration's Contact carries the trunk's number (not 's'), and a call the
    provider sends to that number rings the trunk's inbound-extension (102: without
    voicemail, so no MWI NOTIFY reaches the SIPp phone before the INVITE)."""
    registrar = sipkit.sipp(None, sipkit.scenario(pbx.tmp, "registrar", contact="sip:4202000@127[.]0[.]0[.]1:"),
                            "registrar", background=True, port=pbx.trunk, address="127.0.0.2")
    deadline = time.time() + 5
    while sipkit.is_free(pbx.trunk, "127.0.0.2") and time.time() < deadline:
        time.sleep(0.05)
    pbx.asterisk.cli("pjsip send register trunk-carrier-reg")
    out, _ = registrar.communicate(timeout=30)
    assert registrar.returncode == 0, out[-3000:]
    assert pbx.commit("pbx trunk carrier inbound-extension 102") == []
    try:
        callee = pbx.callee("102", "INVITE sip:102@127[.]0[.]0[.]1:")
        call = sipkit.sipp(pbx.target, sipkit.scenario(pbx.tmp, "provider-call", user="420777123456", hold=0),
                           "4202000", address="127.0.0.2")
        out, _ = callee.communicate(timeout=30)
        assert callee.returncode == 0, out[-3000:] + call.stdout[-3000:]
        ok(call)
        assert pbx.asterisk.problems() == [], "\n".join(pbx.asterisk.problems())
    finally:
        assert pbx.commit("no pbx trunk carrier inbound-extension") == []
