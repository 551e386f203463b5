"""Speech-quality monitoring (issue 13):

  * file analysis: a capture of 100 calls, 1,000,000 RTP packets (5,000 arriving per direction,
    1 % random loss, a little jitter) from the project's generator, analysed by
    `monitor analyze`'s code and by tshark `-z rtp,streams` in the same run (median of
    RUNS each; the ratio is tshark's time over ours), with the packet and loss counts of
    every stream compared;
  * live monitoring: the BESIP daemon's voice-quality component capturing in a network
    namespace while 100 concurrent G.711 calls (both directions, 20 ms: 10,000 packets/s)
    are played on its loopback for SECONDS: CPU % of one core and peak RSS of the daemon,
    and the packets it rated.

    PYTHONPATH=. python benchmarks/voice_quality.py [--runs 3] [--seconds 15]

Needs tshark, and root with ip and nft for the live part. Bounded in count and time;
everything is deleted at the end. Targets: ratio >= 1.0 (aim 3), < 25 % of one core and
< 40 MB RSS live.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import netns  # noqa: E402
import rtpgen  # noqa: E402
from besip_cli.monitoring import analysis  # noqa: E402
from test_voice_quality import tshark_streams  # noqa: E402

CALLS = 100
PER_DIRECTION = 5050          # 1 % lost: 5,000 arrive
PLAYERS = 2                     # sender processes of the live part


def capture(path):
    rnd = random.Random(1)
    sources = []
    for i in range(CALLS):
        a, b = ("10.1.%d.1" % i, 5060), ("10.2.%d.1" % i, 5060)
        am, bm = (a[0], 20000), (b[0], 30000)
        start = i * 0.01
        sources.append(rtpgen.call("bench-%d" % i, a, b, am, bm, start, PER_DIRECTION * 0.02 + 0.2))
        for src, dst, ssrc in ((am, bm, 2 * i + 1), (bm, am, 2 * i + 2)):
            sources.append(rtpgen.rtp(src, dst, PER_DIRECTION, start=start + 0.05, ssrc=ssrc,
                                      lose=rnd.sample(range(1, PER_DIRECTION - 1), PER_DIRECTION // 100),
                                      jitter=lambda _i, r=random.Random(ssrc): r.uniform(0, 4)))
    return rtpgen.write(path, *sources)


def timed(function):
    begin = time.perf_counter()
    result = function()
    return time.perf_counter() - begin, result


def file_benchmark(runs, tmp):
    path = os.path.join(tmp, "calls.pcap")
    packets = capture(path)
    ours, theirs = [], []
    for _ in range(runs):
        seconds, calls = timed(lambda: analysis.analyze(path))
        ours.append(seconds)
        seconds, streams = timed(lambda: tshark_streams(path))
        theirs.append(seconds)
    counted = {(d["source"], d["destination"]): (d["received"], d["lost"]) for c in calls for d in c["directions"]}
    reference = {("%s:%d" % k[:2], "%s:%d" % k[2:4]): v[:2] for k, v in streams.items()}
    agree = counted == reference
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print("file: %d packets (%d RTP), %d calls, %.0f MB" % (packets, sum(v[0] for v in counted.values()), CALLS,
                                                           os.path.getsize(path) / 1e6))
    print("  monitor analyze  median %6.2f s  (%.0f packets/s)" % (ours_median, packets / ours_median))
    print("  tshark rtp,streams median %6.2f s" % theirs_median)
    print("  ratio tshark/ours: %.2f (target >= 1.0, aim 3)" % (theirs_median / ours_median))
    print("  packet and loss counts of all %d streams equal to tshark's: %s" % (len(reference), agree))
    os.unlink(path)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def live_benchmark(seconds, tmp):
    lab = netns.Lab()
    daemon = None
    try:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        env = dict(os.environ, PYTHONPATH=ROOT, BESIP_SYSLOG="")
        with open(os.path.join(data, "services.toml"), "w") as f:
            f.write('root = "%s/root"\n[monitoring]\nreload = "%s -m besip_cli.daemon --datastore %s reload"\n'
                    '[besip]\nruntime = "%s/run"\n' % (tmp, sys.executable, data, tmp))
        daemon = subprocess.Popen(lab.argv(lab.server, sys.executable, "-m", "besip_cli.daemon", "--datastore", data),
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert daemon.stderr.readline() == "besip-daemon: ready\n"
        lab.besip(data, env, "configure", "monitoring voice-quality enabled true",
                  "monitoring voice-quality rtp-ports from 20000 to 40000", "commit")
        count = int(seconds / 0.02)
        players = []
        cpu0, t0 = cpu_seconds(daemon.pid), time.monotonic()
        for p in range(PLAYERS):
            calls = []
            for i in range(p, CALLS, PLAYERS):
                a, b = ("127.1.%d.1" % i, 25060), ("127.2.%d.1" % i, 25060)
                am, bm = (a[0], 20000 + 2 * i), (b[0], 30000 + 2 * i)
                calls += ["rtpgen.call('live-%d', %r, %r, %r, %r, 0.0, %f)" % (i, a, b, am, bm, seconds + 0.3),
                          "rtpgen.rtp(%r, %r, %d, start=0.1, ssrc=%d)" % (am, bm, count, 2 * i + 1),
                          "rtpgen.rtp(%r, %r, %d, start=0.1, ssrc=%d)" % (bm, am, count, 2 * i + 2)]
            code = "import sys; sys.path.insert(0, %r); import rtpgen; rtpgen.play(%s)" % (
                os.path.join(ROOT, "tests"), ", ".join(calls))
            players.append(subprocess.Popen(lab.argv(lab.server, sys.executable, "-c", code), env=env))
        for player in players:
            player.wait(seconds * 3 + 60)
        elapsed, cpu = time.monotonic() - t0, cpu_seconds(daemon.pid) - cpu0
        peak, rss = memory(daemon.pid, "VmHWM"), memory(daemon.pid, "VmRSS")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rated = json.loads(lab.besip(data, env, "show voice-quality calls last 1000 | display json").stdout)
            if len(rated) >= CALLS:
                break
            time.sleep(1)
        received = sum(d["received"] for c in rated for d in c["directions"])
        lost = sum(max(0, d["lost"]) for c in rated for d in c["directions"])
        print("live: %d calls x 2 directions x %d packets played in %.1f s (%.0f packets/s offered)"
              % (CALLS, count, elapsed, 2 * CALLS * count / elapsed))
        print("  daemon CPU %.1f %% of one core (target < 25 %%), RSS %.1f MB, peak %.1f MB (target < 40 MB)"
              % (100 * cpu / elapsed, rss, peak))
        print("  rated %d calls, %d packets, %d lost to the capture" % (len(rated), received, lost))
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(10)
        lab.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    options = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="besip-vq-bench-")
    try:
        if shutil.which("tshark"):
            file_benchmark(options.runs, tmp)
        else:
            print("file: SKIPPED (no tshark)")
        if netns.available():
            live_benchmark(options.seconds, tmp)
        else:
            print("live: SKIPPED (needs root, ip and nft)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
