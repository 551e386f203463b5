"""End to end (issue 13): a call through the real Kamailio, SIPp playing RTP, nftables
dropping a chosen share of it on the way, and the MOS the BESIP daemon stores matching
that loss."""

import os
import re
import subprocess
import time

import pytest

import sipkit
from test_voice_quality import g107, g107_mos
from test_voice_quality_live import monitor, needs_netns  # noqa: F401 (monitor: a fixture)

PACKETS = 250                   # 5 s of PCMA, 20 ms per packet
DROP = """table inet vqtest {
  chain forward {
    type filter hook forward priority 0;
    udp dport %(port)d counter
    udp dport %(port)d numgen inc mod 50 < 5 counter drop
  }
}
"""


@needs_netns
@pytest.mark.skipif(not sipkit.available(), reason="needs kamailio, kamcmd and sipp")
def test_a_call_through_kamailio_is_rated_with_the_loss_nftables_made(monitor, tmp_path):
    """Caller and callee in their own namespaces, Kamailio and the monitor in the server's,
    which routes between them and drops 5 of every 50 RTP packets to the callee (10 %, in
    bursts of 5); the monitor captures on the callee's link, after the drop."""
    lab = monitor.lab
    caller_address, callee_address = lab.host("caller"), lab.host("callee")
    lab.route("caller")
    lab.route("callee")
    port, proxy = sipkit.free_port(), lab.server_address("caller")
    monitor.besip("configure", "pbx mode proxy", "pbx domain pbx.test", "pbx sip listen %s %d udp" % (proxy, port),
                  "pbx extension 100 secret Xk9-strong-1", "pbx extension 101 secret Yp4-strong-2",
                  "monitoring voice-quality enabled true", "monitoring voice-quality interface %s" % lab.link("callee"),
                  "monitoring voice-quality rtp-ports from 1024 to 65535", "commit")
    media = sipkit.free_port(count=4) // 2 * 2
    subprocess.run(lab.argv(lab.server, "nft", "-f", "-"), input=DROP % {"port": media}, text=True, check=True)
    target = "%s:%d" % (proxy, port)
    register = sipkit.scenario(tmp_path, "register", expect=200)
    callee_port = sipkit.free_port()
    assert sipkit.sipp(target, register, "101", "101", "Yp4-strong-2", port=callee_port,
                       address=callee_address, netns=lab.ns("callee")).returncode == 0
    answer = sipkit.sipp(None, sipkit.scenario(tmp_path, "answer", ruri="101"), "answer", background=True,
                         port=callee_port, address=callee_address, netns=lab.ns("callee"), media_port=media,
                         options=["-rtp_echo"])
    audio = tmp_path / "audio.pcma"
    audio.write_bytes(b"\xd5" * 160 * PACKETS)
    with open(os.path.join(sipkit.SCENARIOS, "caller.xml")) as f:
        text = f.read().replace('<pause milliseconds="@HOLD@"/>', '<nop><action><exec rtp_stream="%s,1,8"/>'
                                '</action></nop><pause milliseconds="5600"/>' % audio)
    (tmp_path / "caller-rtp.xml").write_text(text.replace("@USER@", "100"))
    time.sleep(0.3)
    caller = sipkit.sipp(target, str(tmp_path / "caller-rtp.xml"), "101", "100", "Xk9-strong-1",
                         address=caller_address, netns=lab.ns("caller"))
    assert caller.returncode == 0, caller.stdout[-3000:]
    answer.wait(30)
    table = lab.exec(lab.server, "nft", "list", "table", "inet", "vqtest").stdout
    assert [int(n) for n in re.findall(r"packets (\d+)", table)] == [PACKETS, 25]

    (call,) = monitor.rated(1)
    assert (call["caller"], call["callee"]) == ("100", "101")
    to_callee = next(d for d in call["directions"] if d["direction"] == "->")
    # packets 0-4 never arrive, so the stream begins at 5: 245 expected, 4 bursts of 5 lost
    assert (to_callee["codec"], to_callee["received"], to_callee["expected"]) == ("PCMA", 225, 245)
    assert (to_callee["lost"], to_callee["bursts"], to_callee["destination"]) == (20, 4, "%s:%d" % (callee_address, media))
    ppl = 100 * to_callee["impaired"] / to_callee["expected"]
    burst = to_callee["impaired"] / to_callee["bursts"] * (1 - ppl / 100)
    assert to_callee["burst_ratio"] == pytest.approx(burst)
    delay = to_callee["delay"]
    assert abs(to_callee["mos"] - g107_mos(g107(0, 25.1, ppl, burst, delay, 2 * delay, delay))) < 0.01
    assert to_callee["mos"] < 3.6
