"""The IPS's reaction times, measured in network namespaces on the real rendered table and
the real BESIP daemon (needs root, ip, nft):

  * kernel layer: an attacker namespace floods REGISTER at each rate; a UDP sink stands in
    for Kamailio on the server (it receives exactly what the kernel lets through). Reported:
    time from the flood's first packet to its first kernel drop (the first sequence number
    the sink never got) and the packets that reached the sink;
  * SIP layer: the daemon receives a Kamailio report (the datagram Kamailio's send_data
    sends) while the attacker sends a probe packet every 0.5 ms; reported: time from the
    report to the first probe the kernel drops.

    PYTHONPATH=. python benchmarks/ips_floods.py [--rates 1000,4000,16000] [--runs 5]

Prints medians (and p95 of the report-to-drop time). Every flood is bounded in count and
time; everything is deleted at the end.
"""

import argparse
import json
import os
import selectors
import shutil
import socket
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
from besip_cli.daemon.control import request  # noqa: E402
from besip_cli.services.settings import Settings  # noqa: E402

SINK_SECONDS = 3.0
PROBE_PORT = 5999


def sink(address, seconds, out):
    """Role: receive datagrams on ADDRESS ports 5060 and PROBE_PORT for SECONDS after the
    first one; write the sequence numbers seen to OUT."""
    socks = []
    for port in (5060, PROBE_PORT):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((address, port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        s.setblocking(False)
        socks.append(s)
    print("ready", flush=True)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    seen, deadline = [], time.monotonic() + 30
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            while True:
                try:
                    data = key.fileobj.recv(2048)
                except BlockingIOError:
                    break
                seen.append(int(data.split(b"seq=", 1)[1].split(b";", 1)[0]))
                deadline = min(deadline, time.monotonic() + seconds) if len(seen) == 1 else deadline
    with open(out, "w") as f:
        json.dump(seen, f)


def flood(target, port, method, count, rate, out):
    """Role: send COUNT datagrams to TARGET:PORT at RATE per second; write their send times."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    times = []
    start = time.monotonic()
    for seq in range(count):
        due = start + seq / rate
        while time.monotonic() < due:
            pass
        times.append(time.monotonic())
        s.sendto(("%s sip:100@%s SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK-seq=%d;\r\n\r\n"
                  % (method, target, seq)).encode(), (target, port))
    with open(out, "w") as f:
        json.dump(times, f)


def report():
    """Role: for each address read on stdin, send Kamailio's report of it to the daemon and
    print the instant it left."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    print("ready", flush=True)
    for line in sys.stdin:
        sent = time.monotonic()
        s.sendto(b"besip-ips 1 %s scanner" % line.strip().encode(), ("127.0.0.1", 5065))
        print(sent, flush=True)


def besip(data, *lines):
    argv = [sys.executable, "-m", "besip_cli", "--datastore", data]
    for line in lines:
        argv += ["-c", line]
    subprocess.run(argv, check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=ROOT))


def role(lab, ns, *args, stdin=None):
    return subprocess.Popen(lab.argv(ns, sys.executable, os.path.abspath(__file__), "--role", *args),
                            stdin=stdin, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=ROOT))


def finish(sender, receiver, tmp):
    """Wait for both roles; (sequence numbers the sink saw, send times of the sender)."""
    sender.wait(60)
    receiver.wait(60)
    with open(os.path.join(tmp, "seen")) as f:
        seen = set(json.load(f))
    with open(os.path.join(tmp, "sent")) as f:
        return seen, json.load(f)


def one_flood(lab, tmp, rate, server):
    """(ms to the first drop, packets through) of one REGISTER flood of half a second."""
    count = min(8000, max(200, rate // 2))
    seen_file, sent_file = os.path.join(tmp, "seen"), os.path.join(tmp, "sent")
    receiver = role(lab, lab.server, "sink", server, str(SINK_SECONDS), seen_file)
    receiver.stdout.readline()
    sender = role(lab, lab.ns("attacker"), "flood", server, "5060", "REGISTER", str(count), str(rate), sent_file)
    seen, sent = finish(sender, receiver, tmp)
    first_drop = next((i for i in range(count) if i not in seen), None)
    ms = (sent[first_drop] - sent[0]) * 1000 if first_drop is not None else float("nan")
    return ms, len(seen)


def one_report(lab, tmp, settings, reporter, server, attacker):
    """ms from a Kamailio report leaving for the daemon to the kernel's first drop of probes."""
    seen_file, sent_file = os.path.join(tmp, "seen"), os.path.join(tmp, "sent")
    receiver = role(lab, lab.server, "sink", server, "1.0", seen_file)
    receiver.stdout.readline()
    sender = role(lab, lab.ns("attacker"), "flood", server, str(PROBE_PORT), "PROBE", "1000", "2000", sent_file)
    time.sleep(0.1)
    reporter.stdin.write(attacker + "\n")
    reporter.stdin.flush()
    reported = float(reporter.stdout.readline())
    seen, sent = finish(sender, receiver, tmp)
    request(settings, "ips.clear", address="all")
    dropped = [t for i, t in enumerate(sent) if i not in seen and t > reported]
    return (dropped[0] - reported) * 1000 if dropped else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="1000,4000,16000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--role", nargs="+")
    options = parser.parse_args()
    if options.role:
        {"sink": lambda a, s, o: sink(a, float(s), o),
         "flood": lambda t, p, m, c, r, o: flood(t, int(p), m, int(c), int(r), o),
         "report": report}[options.role[0]](*options.role[1:])
        return
    if not netns.available():
        sys.exit("needs root, ip and nft")
    tmp = tempfile.mkdtemp(prefix="besip-ips-bench-")
    lab = netns.Lab()
    daemon = None
    try:
        attacker = lab.host("attacker")
        server = lab.server_address("attacker")
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        with open(os.path.join(data, "services.toml"), "w") as f:
            f.write('[besip]\nruntime = "%s"\n' % os.path.join(tmp, "run"))
        besip(data, "configure", "security ips enabled true", "commit")
        settings = Settings(data)
        nft_file = settings.path("/etc/besip/ips.nft")
        print("kernel layer (REGISTER flood, default limit 20/s burst 40), %d runs each:" % options.runs)
        print("%8s  %22s  %16s" % ("rate/s", "first drop after (ms)", "packets through"))
        for rate in [int(r) for r in options.rates.split(",")]:
            times, through = [], []
            for _ in range(options.runs):
                lab.exec(lab.server, "nft", "-f", nft_file)         # a fresh table: no ban yet
                ms, n = one_flood(lab, tmp, rate, server)
                times.append(ms)
                through.append(n)
            print("%8d  %22.1f  %16d" % (rate, statistics.median(times), statistics.median(through)))
        daemon = subprocess.Popen(lab.argv(lab.server, sys.executable, "-m", "besip_cli.daemon",
                                           "--datastore", data), stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, PYTHONPATH=ROOT))
        daemon.stderr.readline()
        reporter = role(lab, lab.server, "report", stdin=subprocess.PIPE)
        reporter.stdout.readline()
        latencies = sorted(one_report(lab, tmp, settings, reporter, server, attacker)
                           for _ in range(max(options.runs, 10)))
        reporter.stdin.close()
        reporter.wait(10)
        print("SIP layer: report to the daemon -> first kernel drop: median %.1f ms, p95 %.1f ms (%d runs)"
              % (statistics.median(latencies), latencies[int(0.95 * (len(latencies) - 1))], len(latencies)))
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(10)
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
