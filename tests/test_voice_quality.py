"""Speech-quality monitoring (issue 13): captures written by the project's generator
(tests/rtpgen.py) with known loss patterns, bursts, jitter, wraps, reordering, duplicates
and codecs, analysed by the monitor and by tshark (`-z rtp,streams`), and the E-model
checked against G.107 computed here independently."""

import json
import math
import random
import re
import shutil
import subprocess

import pytest

import rtpgen
from besip_cli.monitoring import analysis, emodel

needs_tshark = pytest.mark.skipif(not shutil.which("tshark"), reason="needs tshark")
A, B = ("10.0.0.1", 5060), ("10.0.0.2", 5060)


# --------------------------------------------------------------------------- G.107, again

def g107(Ie=0.0, Bpl=4.3, Ppl=0.0, BurstR=1.0, T=0.0, Tr=0.0, Ta=0.0):
    """ITU-T G.107 (06/2015) clause 7 written out once more, all other parameters at their
    Table 3 defaults (STMR 15 dB: neither STMR special case applies)."""
    SLR, RLR, STMR, LSTR, Ds, TELR, WEPL = 8, 2, 15, 18, 3, 65, 110
    Nc, Nfor, Ps, Pr, qdu, A = -70, -64, 35, 35, 1, 0
    OLR = SLR + RLR
    Pre = Pr + 10 * math.log10(1 + 10 ** ((10 - LSTR) / 10))
    Nor = RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2
    Nos = Ps - SLR - Ds - 100 + 0.004 * (Ps - OLR - Ds - 14) ** 2
    Nfo = Nfor + RLR
    No = 10 * math.log10(10 ** (Nc / 10) + 10 ** (Nos / 10) + 10 ** (Nor / 10) + 10 ** (Nfo / 10))
    Ro = 15 - 1.5 * (SLR + No)
    Xolr = OLR + 0.2 * (64 + No - RLR)
    Iolr = 20 * ((1 + (Xolr / 8) ** 8) ** 0.125 - Xolr / 8)
    STMRo = -10 * math.log10(10 ** (-STMR / 10) + math.exp(-T / 4) * 10 ** (-TELR / 10))
    Ist = (12 * (1 + ((STMRo - 13) / 6) ** 8) ** 0.125 - 28 * (1 + ((STMRo + 1) / 19.4) ** 35) ** (1 / 35)
           - 13 * (1 + ((STMRo - 3) / 33) ** 13) ** (1 / 13) + 29)
    Q = 37 - 15 * math.log10(qdu)
    G = 1.07 + 0.258 * Q + 0.0602 * Q * Q
    Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9
    Z = 46 / 30 - G / 40
    Iq = 15 * math.log10(1 + 10 ** Y + 10 ** Z)
    Is = Iolr + Ist + Iq
    TERV = TELR - 40 * math.log10((1 + T / 10) / (1 + T / 150)) + 6 * math.exp(-0.3 * T * T)
    Roe = -1.5 * (No - RLR)
    Re = 80 + 2.5 * (TERV - 14)
    Idte = ((Roe - Re) / 2 + math.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-T))
    Rle = 10.5 * (WEPL + 7) * (Tr + 1) ** (-0.25)
    Idle = (Ro - Rle) / 2 + math.sqrt((Ro - Rle) ** 2 / 4 + 169)
    if Ta <= 100:
        Idd = 0
    else:
        X = math.log10(Ta / 100) / math.log10(2)
        Idd = 25 * ((1 + X ** 6) ** (1 / 6) - 3 * (1 + (X / 3) ** 6) ** (1 / 6) + 2)
    Id = Idte + Idle + Idd
    Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)
    return Ro - Is - Id - Ie_eff + A


def g107_mos(R):
    if R < 0:
        return 1.0
    if R > 100:
        return 4.5
    return max(1.0, 1 + 0.035 * R + R * (R - 60) * (100 - R) * 7e-6)


def test_the_default_connection_rates_93_2_as_g107_states():
    assert round(emodel.rating(), 1) == 93.2
    assert round(emodel.mos(emodel.rating()), 2) == 4.41


@pytest.mark.parametrize("ie, bpl", [(0, 25.1), (0, 4.3), (11, 19.0), (15, 16.1), (5, 10.0)])
def test_every_codec_and_impairment_rates_as_g107(ie, bpl):
    for ppl in (0, 0.5, 1, 2, 5, 10, 20):
        for burst in (1, 1.5, 3):
            for delay in (0, 50, 100, 150, 250, 400, 600):
                r = g107(Ie=ie, Bpl=bpl, Ppl=ppl, BurstR=burst, T=delay, Tr=2 * delay, Ta=delay)
                got = emodel.rate(ie, bpl, ppl, burst, delay)
                assert abs(got["r"] - r) < 1e-6 and abs(got["mos"] - g107_mos(r)) < 0.01
                listening = g107(Ie=ie, Bpl=bpl, Ppl=ppl, BurstR=burst)
                assert abs(got["mos_listening"] - g107_mos(listening)) < 0.01


def test_codecs_without_itu_values_are_not_computable():
    assert emodel.rate(None, None, 0, 1, 20) is None        # no Ie at all
    assert emodel.rate(20.0, None, 1.0, 1, 20) is None      # Ie only: loss cannot be rated
    assert emodel.rate(20.0, None, 0.0, 1, 20)["r"] == pytest.approx(g107(Ie=20, T=20, Tr=40, Ta=20))


# --------------------------------------------------------------------------- captures

def scenario(path):
    """Calls covering the cases, and what each direction's loss pattern is."""
    rnd = random.Random(13)
    media = lambda host, port: ("10.0.0.%d" % host, port)
    sources = []

    def add(call_id, index, length, forward, backward, formats=((0, "PCMU", 8000),), v6=False, ptime=None):
        a, b = (("2001:db8::1", 5060), ("2001:db8::2", 5060)) if v6 else (A, B)
        am = (a[0], 20000 + 4 * index) if v6 else media(1, 20000 + 4 * index)
        bm = (b[0], 30000 + 4 * index) if v6 else media(2, 30000 + 4 * index)
        sources.append(rtpgen.call(call_id, a, b, am, bm, index * 0.3, length, formats,
                                   caller="1%02d" % index, callee="2%02d" % index, ptime=ptime))
        sources.append(rtpgen.rtp(am, bm, start=index * 0.3 + 0.05, ssrc=0x1000 + index, **forward))
        sources.append(rtpgen.rtp(bm, am, start=index * 0.3 + 0.05, ssrc=0x2000 + index, **backward))

    jitter = lambda i: rnd.uniform(0, 9)
    add("random", 0, 12, dict(count=500, lose=rnd.sample(range(1, 499), 25)),
        dict(count=500, jitter=jitter))
    add("burst", 1, 12, dict(count=500, lose=range(200, 210)),
        dict(count=500, lose=list(range(50, 53)) + list(range(300, 304))))
    add("wrap", 2, 12, dict(count=500, seq=65300, ts=2 ** 32 - 16000, lose=[230, 231]),
        dict(count=500, seq=65535, ts=2 ** 32 - 80, jitter=jitter))
    add("reorder", 3, 12, dict(count=500, swap=[100, 250, 251], duplicate=[40, 41]),
        dict(count=500, swap=[10], duplicate=[300], lose=[120]))
    add("g729", 4, 12, dict(count=500, pt=18, size=20, lose=range(10, 500, 20)),
        dict(count=500, pt=18, size=20, jitter=jitter))
    add("dynamic", 5, 12, dict(count=400, pt=101, ptime=30, lose=[5]),
        dict(count=400, pt=101, ptime=30), formats=((101, "G723", 8000),), ptime=30)
    add("v6", 6, 12, dict(count=500, lose=range(400, 425)), dict(count=500), v6=True)
    add("g722", 7, 12, dict(count=300, pt=9), dict(count=300, pt=9, lose=[7]), formats=((9, "G722", 8000),))
    rtpgen.write(path, *sources)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    path = tmp_path_factory.mktemp("vq") / "calls.pcap"
    scenario(str(path))
    return path


@pytest.fixture(scope="module")
def rated(capture):
    return {c["call_id"]: c for c in analysis.analyze(str(capture))}


def tshark_streams(path):
    """{(src, sport, dst, dport, ssrc): (packets, lost, max jitter, mean jitter)}."""
    out = subprocess.run(["tshark", "-q", "-n", "-o", "rtp.heuristic_rtp:TRUE", "-r", str(path),
                          "-z", "rtp,streams"], capture_output=True, text=True, timeout=120).stdout
    streams = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 16 and re.fullmatch(r"0x[0-9a-fA-F]{8}", f[6]):
            lost = int(f[9])
            rest = f[10:] if f[10].startswith("(") is False else f[11:]
            streams[(f[2], int(f[3]), f[4], int(f[5]), int(f[6], 16))] = (
                int(f[8]), lost, float(rest[5]), float(rest[4]))
    return streams


@needs_tshark
@pytest.mark.parametrize("fmt", ["pcap", "pcapng", "nsecpcap"])
def test_packet_and_loss_counts_and_jitter_agree_with_tshark(capture, tmp_path, fmt):
    path = capture
    if fmt != "pcap":
        path = tmp_path / ("calls." + fmt)
        subprocess.run(["editcap", "-F", fmt, str(capture), str(path)], check=True, timeout=60)
    ours = {}
    for call in analysis.analyze(str(path)):
        for d in call["directions"]:
            src, sport = d["source"].rsplit(":", 1)
            dst, dport = d["destination"].rsplit(":", 1)
            for s in d["streams"]:
                ours[(src, int(sport), dst, int(dport), s["ssrc"])] = s
    theirs = tshark_streams(path)
    assert len(theirs) == len(ours) == 16
    for key, (packets, lost, max_jitter, mean_jitter) in theirs.items():
        s = ours[key]
        assert (s["received"], s["lost"]) == (packets, lost), key
        assert abs(s["max_jitter"] - max_jitter) <= 0.01, key
        assert abs(s["mean_jitter"] - mean_jitter) <= 0.01, key


def direction(rated, call_id, arrow):
    return next(d for d in rated[call_id]["directions"] if d["direction"] == arrow)


def test_calls_are_tied_to_their_parties_and_codecs(rated):
    assert rated["random"]["caller"] == "100" and rated["random"]["callee"] == "200"
    assert direction(rated, "random", "->")["destination"] == "10.0.0.2:30000"
    assert direction(rated, "g729", "->")["codec"] == "G729"
    assert direction(rated, "dynamic", "->")["codec"] == "G723"      # PT 101 from the SDP
    assert direction(rated, "v6", "->")["source"] == "2001:db8::1:20024"


def test_loss_bursts_and_the_burst_ratio_follow_the_pattern(rated):
    d = direction(rated, "burst", "->")              # one burst of 10 in 500
    assert (d["expected"], d["lost"], d["bursts"]) == (500, 10, 1)
    assert d["burst_ratio"] == pytest.approx(10 * (1 - 10 / 500))
    d = direction(rated, "burst", "<-")              # bursts of 3 and 4
    assert (d["lost"], d["bursts"]) == (7, 2)
    assert d["burst_ratio"] == pytest.approx(3.5 * (1 - 7 / 500))
    d = direction(rated, "g729", "->")               # every 20th: more even than random
    assert (d["lost"], d["bursts"], d["burst_ratio"]) == (25, 25, pytest.approx(0.95))


def test_wraps_reordering_and_duplicates_are_counted(rated):
    d = direction(rated, "wrap", "->")               # sequence numbers wrap at 65536
    assert (d["expected"], d["lost"], d["impaired"]) == (500, 2, 2)
    d = direction(rated, "wrap", "<-")               # both wrap at once, with jitter
    assert (d["expected"], d["lost"]) == (500, 0)
    d = direction(rated, "reorder", "->")
    # 100, 250 and 251 come 30 ms late: 251 after 252 (reordered), all three too late
    # for the adaptive jitter buffer (20 ms with this little jitter), so discarded
    assert (d["received"], d["duplicates"], d["reordered"], d["discarded"], d["impaired"]) == (502, 2, 2, 3, 3)
    assert d["lost"] == -2                           # RFC 3550: duplicates make it smaller
    assert d["bursts"] == 2                          # 100, and 250-251
    d = direction(rated, "reorder", "<-")            # 10 late, 120 lost
    assert (d["duplicates"], d["reordered"], d["discarded"], d["impaired"], d["bursts"]) == (1, 1, 1, 2, 2)


def test_each_direction_is_rated_with_g107_from_its_own_impairments(rated):
    for call_id, arrow, ie, bpl in [("burst", "->", 0, 25.1), ("burst", "<-", 0, 25.1),
                                    ("g729", "->", 11, 19.0), ("dynamic", "->", 15, 16.1),
                                    ("random", "<-", 0, 25.1), ("v6", "->", 0, 25.1)]:
        d = direction(rated, call_id, arrow)
        ppl = 100 * d["impaired"] / d["expected"]
        burst = max(1, d["burst_ratio"])
        delay = 20 + d["streams"][0]["buffer_delay"] + (30 if call_id == "dynamic" else 20)
        assert d["delay"] == pytest.approx(delay)
        assert abs(d["mos"] - g107_mos(g107(ie, bpl, ppl, burst, delay, 2 * delay, delay))) < 0.01
    assert direction(rated, "burst", "->")["mos"] > direction(rated, "v6", "->")["mos"]


def test_a_codec_without_itu_values_is_not_computable(rated, capture, besip):
    d = direction(rated, "g722", "<-")
    assert (d["rated"], d["mos"], d["r"]) == (False, None, None)
    table = besip("monitor analyze %s" % capture, check=0).stdout
    assert re.search(r"PCMU\s+500\s+0\.0\s+1\.00 .* 4\.\d\d$", table, re.M)
    assert re.search(r"G722 .* -\s+n/c$", table, re.M)
    assert "n/c: not computable" in table


def test_the_codec_table_is_configurable(capture, besip):
    besip.config("monitoring voice-quality codec G722 ie 13 bpl 14.5", "commit")
    d = [d for c in json.loads(besip("monitor analyze %s | display json" % capture, check=0).stdout)
         if c["call_id"] == "g722" for d in c["directions"] if d["direction"] == "<-"][0]
    ppl = 100 / 300
    assert abs(d["mos"] - g107_mos(g107(13, 14.5, ppl, 1, d["delay"], 2 * d["delay"], d["delay"]))) < 0.01
    besip.config("monitoring voice-quality codec PCMU no-published-values", "commit")
    out = json.loads(besip("monitor analyze %s | display json" % capture, check=0).stdout)
    assert all(d["mos"] is None for c in out for d in c["directions"] if d["codec"] == "PCMU")


def test_bad_capture_files_get_a_clear_error(besip, tmp_path):
    (tmp_path / "text").write_text("not a capture\n")
    (tmp_path / "short.pcap").write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    for path, message in [(tmp_path / "missing", "No such file or directory"),
                          (tmp_path / "text", "is neither a pcap nor a pcapng file"),
                          (tmp_path / "short.pcap", "truncated pcap header")]:
        proc = besip("monitor analyze %s" % path, check=1)
        assert message in proc.stderr and proc.stderr.count("%") == 1
    proc = besip("monitor analyze %s | display xml" % (tmp_path / "text"), check=1)
    assert "Only '| display json' applies" in proc.stderr
