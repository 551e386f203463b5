"""proxy-pbx mode for real: the Kamailio and the Asterisk BESIP renders in one commit, both
running (Kamailio restarted and Asterisk reloaded by every commit, tests/sipkit.py and
tests/asterisk_kit.py). SIPp phones register at Kamailio; calls of a recorded extension,
trunk calls and unanswered calls to a mailbox go through Asterisk on 127.0.0.1:5080."""

import os
import struct
import time

import pytest

import asterisk_kit
import netns
import sipkit
from besip_cli.services.asterisk import ASTERISK_PORT
from test_sip_calls import ok

pytestmark = pytest.mark.skipif(bool(asterisk_kit.available()) or not sipkit.available(),
                                reason=asterisk_kit.available() or "needs kamailio, kamcmd and sipp")

SECRETS = {"100": "Xk9-strong-1", "101": "Yp4-strong-2", "102": "Zr7-strong-3"}
TRUNK_USER, TRUNK_SECRET = "4202000", "Tr-secret-9"
PROVIDER = "127.0.0.2"


@pytest.fixture(scope="module")
def pbx(tmp_path_factory, env):
    """besip in proxy-pbx mode: Kamailio on a free loopback port, Asterisk on its internal
    port; 101 has voicemail, 102 is recorded (and has no mailbox: no MWI NOTIFY to its
    SIPp phone), the trunk logs in with a username and secret."""
    from conftest import Besip
    if not sipkit.is_free(ASTERISK_PORT):
        pytest.skip("Asterisk's internal port %d is in use on this machine" % ASTERISK_PORT)
    base = tmp_path_factory.mktemp("proxy-pbx")
    root, data = base / "root", base / "data"
    kamailio = sipkit.Kamailio(data, root, base / "run")
    kamailio_settings = (data / "services.toml").read_text()
    asterisk = asterisk_kit.Asterisk(root)
    (data / "services.toml").write_text(kamailio_settings + asterisk.services_toml(running=False))
    port, trunk = sipkit.free_port(), sipkit.free_port()
    besip = Besip(data, env)
    try:
        besip.config("pbx mode proxy-pbx", "pbx domain pbx.test",
                     "pbx sip listen 127.0.0.1 %d udp" % port,
                     *["pbx extension %s secret %s" % kv for kv in SECRETS.items()],
                     "pbx extension 101 voicemail pin 4711",
                     "pbx extension 102 recording always",
                     "pbx trunk carrier host %s port %d username %s secret %s register false"
                     % (PROVIDER, trunk, TRUNK_USER, TRUNK_SECRET),
                     "pbx route out pattern 9X. trunk carrier strip 1", "commit")
        asterisk.start()
        (data / "services.toml").write_text(kamailio_settings + asterisk.services_toml())
        yield Helper(besip, asterisk, kamailio, port, trunk, base)
    finally:
        asterisk.stop()
        kamailio.stop()


class Helper:
    def __init__(self, besip, asterisk, kamailio, port, trunk, tmp):
        self.besip, self.asterisk, self.kamailio = besip, asterisk, kamailio
        self.port, self.trunk, self.tmp = port, trunk, tmp

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    def callee(self, number):
        """A SIPp phone registered at Kamailio as NUMBER answering one call; the Popen."""
        port = sipkit.free_port()
        ok(sipkit.sipp(self.target, sipkit.scenario(self.tmp, "register", expect=200), number,
                       number, SECRETS[number], port=port))
        return self.answer("answer", port, ruri="INVITE sip:%s@127[.]0[.]0[.]1:%d " % (number, port))

    def answer(self, name, port, address="127.0.0.1", **values):
        proc = sipkit.sipp(None, sipkit.scenario(self.tmp, name, **values), name,
                           background=True, port=port, address=address)
        deadline = time.time() + 5
        while sipkit.is_free(port, address) and time.time() < deadline:    # until SIPp has bound it
            time.sleep(0.05)
        return proc

    def call(self, caller, number, hold=0, stream=None):
        """CALLER calls NUMBER through Kamailio (407), holding HOLD ms; with STREAM (a
        pcap file of RTP) it speaks that once answered."""
        path = sipkit.scenario(self.tmp, "caller", user=caller, hold=hold)
        if stream:
            with open(path) as f:
                text = f.read()
            pause = '<pause milliseconds="%d"/>' % hold
            text = text.replace(pause, '<nop><action><exec play_pcap_audio="%s"/></action></nop>\n  %s'
                                % (stream, pause))
            with open(path, "w") as f:
                f.write(text)
        return sipkit.sipp(self.target, path, number, caller, SECRETS[caller])

    def problems(self):
        return "\n".join(self.asterisk.problems())


def speech(path, seconds):
    """A pcap file of SECONDS of A-law RTP (20 ms packets of noise) for SIPp's
    play_pcap_audio, which sends it from the answer on at its own pace."""
    packets = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]    # Ethernet frames
    for i in range(seconds * 50):
        rtp = struct.pack("!BBHII", 0x80, 8, i, i * 160, 0x4245) + bytes(range(96, 256))
        udp = struct.pack("!HHHH", 4000, 4000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes((127, 0, 0, 1)), bytes((127, 0, 0, 1))) + udp
        frame = bytes(12) + b"\x08\x00" + ip
        packets.append(struct.pack("<IIII", i // 50, i % 50 * 20000, len(frame), len(frame)) + frame)
    with open(path, "wb") as f:
        f.write(b"".join(packets))
    return path


def wait_for(predicate, seconds=10):
    deadline = time.time() + seconds
    while not predicate() and time.time() < deadline:
        time.sleep(0.1)
    return predicate()


def test_the_files_of_one_commit_run_together(pbx):
    endpoints = pbx.asterisk.cli("pjsip show endpoints")
    for name in ("besip-proxy", "trunk-carrier"):
        assert " %s " % name in endpoints or " %s/" % name in endpoints, endpoints
    assert "'besip-from-proxy'" in pbx.asterisk.cli("dialplan show")
    assert "kamailio" in pbx.kamailio.rpc("core.version").lower()
    assert pbx.problems() == ""


def test_a_recorded_extension_is_called_through_asterisk(pbx):
    """100 calls 102 (recording always) at Kamailio: Kamailio hands the call to Asterisk,
    which records it and calls 102 back through Kamailio, where 102 is registered."""
    monitor = pbx.asterisk.spool("monitor")
    before = set(os.listdir(monitor)) if os.path.isdir(monitor) else set()
    callee = pbx.callee("102")
    call = pbx.call("100", "102")
    out, _ = callee.communicate(timeout=30)
    assert callee.returncode == 0, out[-3000:] + call.stdout[-3000:]
    ok(call)
    assert wait_for(lambda: os.path.isdir(monitor) and set(os.listdir(monitor)) - before), \
        pbx.asterisk.log()[-3000:]
    assert pbx.problems() == ""


def test_a_trunk_call_goes_out_with_asterisks_trunk_login(pbx):
    """100 dials 9 1234567 at Kamailio; Asterisk calls 1234567 at the provider, answers its
    401 challenge with the trunk's username and secret (the provider checks the digest)."""
    provider = pbx.answer("provider-auth", pbx.trunk, PROVIDER, user=TRUNK_USER, password=TRUNK_SECRET,
                          ruri="INVITE sip:1234567@127[.]0[.]0[.]2:%d[; ]" % pbx.trunk)
    call = pbx.call("100", "91234567")
    out, _ = provider.communicate(timeout=30)
    assert provider.returncode == 0, out[-3000:] + call.stdout[-3000:]
    ok(call)
    assert pbx.problems() == ""


def test_a_trunk_call_to_a_provider_on_the_network_carries_the_boxs_address(pbx):
    """The provider is in a network namespace of its own, reached over a veth link: the
    trunk INVITE's Contact and SDP give the box's address on that link, not loopback
    (which, seen from the provider, is the provider itself)."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    with netns.neighbour() as (space, box, provider_ip):
        pbx.besip.config("pbx trunk carrier host %s" % provider_ip, "commit")
        try:
            dots = {ip: ip.replace(".", "[.]") for ip in (box, provider_ip)}    # POSIX ERE
            seen = "INVITE sip:1234567@%s:%d[; ][^~]*Contact: .sip:%s@%s:%d[^0-9][^~]*" \
                "c=IN IP4 %s[^0-9]" % (dots[provider_ip], pbx.trunk, TRUNK_USER, dots[box],
                                       ASTERISK_PORT, dots[box])
            provider = sipkit.sipp(None, sipkit.scenario(pbx.tmp, "provider-auth", user=TRUNK_USER,
                                                         password=TRUNK_SECRET, ruri=seen),
                                   "provider-auth", background=True, port=pbx.trunk,
                                   address=provider_ip, netns=space)
            time.sleep(0.5)                                   # SIPp binds its port
            call = pbx.call("100", "91234567")
            out, _ = provider.communicate(timeout=30)
            assert provider.returncode == 0, out[-3000:] + call.stdout[-3000:]
            ok(call)
        finally:
            pbx.besip.config("pbx trunk carrier host %s" % PROVIDER, "commit")
    assert pbx.problems() == ""


def test_an_unanswered_call_leaves_a_voicemail_message(pbx):
    """101 (voicemail) is not registered: Kamailio sends 100's call to Asterisk's VoiceMail,
    which plays the greeting and records what 100 says; the message lands in 101's INBOX."""
    inbox = pbx.asterisk.spool("voicemail", "besip", "101", "INBOX")
    ok(pbx.call("100", "101", hold=15000, stream=speech(pbx.tmp / "speech.pcap", 15)))
    assert wait_for(lambda: os.path.isdir(inbox) and "msg0000.txt" in os.listdir(inbox)), \
        pbx.asterisk.log()[-3000:]
    with open(os.path.join(inbox, "msg0000.txt")) as f:
        message = f.read()
    assert "callerid=" in message and "100" in message, message
    assert any(name.startswith("msg0000.") and name != "msg0000.txt" for name in os.listdir(inbox))
    assert pbx.problems() == ""
