"""Calls per second through a real Asterisk 22 with the BESIP-rendered configuration vs a
minimal hand-written pjsip.conf/extensions.conf on the same Asterisk (same chroot, same
machine, same SIPp load), in pbx and proxy-pbx modes. Needs root and the Asterisk chroot
(scripts/asterisk-chroot); loopback only, every run bounded in count and time.

    PYTHONPATH=. python benchmarks/pbx_calls.py [--calls 200] [--rate 100] [--runs 3]

pbx: SIPp phone 100 calls 102 (digest authentication, 401) and a SIPp phone registered as
102 answers. proxy-pbx: SIPp stands in for Kamailio on both sides: it sends the calls to
Asterisk's internal port and answers the ones Asterisk sends back. Prints the median
completed calls per second of each configuration, the fewest calls completed in a run, and
their ratio (target >= 0.9).

Known limit: from about 20 calls/s on a 2-core machine the answering SIPp aborts calls
when Asterisk retransmits an INVITE it has already answered ("unexpected message while
expecting ACK"), with either configuration; the failed calls then wait out SIPp's receive
timeout, so only runs whose calls all complete measure capacity.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "tests")]

import asterisk_kit  # noqa: E402
import sipkit  # noqa: E402
from besip_cli.services.asterisk import ASTERISK_PORT  # noqa: E402

SECRET = {"100": "Bench-secret-100", "102": "Bench-secret-102"}
CODECS = "disallow=all\nallow=alaw,ulaw\ndirect_media=no\n"    # media through Asterisk, as BESIP renders
MINIMAL_PBX = "".join("""
[%(n)s]
type=endpoint
context=bench
%(codecs)sauth=%(n)s-auth
aors=%(n)s
[%(n)s-auth]
type=auth
auth_type=userpass
username=%(n)s
password=%(secret)s
[%(n)s]
type=aor
max_contacts=2
""" % dict(n=n, secret=s, codecs=CODECS) for n, s in SECRET.items())
MINIMAL_PROXY = """
[proxy]
type=endpoint
context=bench
%saors=proxy
[proxy]
type=aor
contact=sip:127.0.0.1:%%(kamailio)d
[proxy]
type=identify
endpoint=proxy
match=127.0.0.1
""" % CODECS
TRANSPORT = "[transport-udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:%d\n"
DIALPLAN = {"pbx": "[bench]\nexten => 102,1,Dial(PJSIP/102,30)\n same => n,Hangup()\n",
            "proxy-pbx": "[bench]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@proxy,30)\n same => n,Hangup()\n"}


def besip(data, *lines):
    argv = [sys.executable, "-m", "besip_cli", "--datastore", data]
    for line in ("configure",) + lines + ("commit",):
        argv += ["-c", line]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if proc.returncode:
        raise SystemExit("besip failed: " + proc.stderr)


def rendered(base, mode, port, kamailio):
    """An Asterisk on the files `besip` renders for MODE; its SIP port."""
    data, root = os.path.join(base, "data"), os.path.join(base, "root")
    asterisk = asterisk_kit.Asterisk(root)
    os.makedirs(data)
    with open(os.path.join(data, "services.toml"), "w") as f:
        f.write('root = "%s"\n%s' % (root, asterisk.services_toml(running=False)))
    besip(data, "pbx mode %s" % mode, "pbx domain bench.test", "pbx sip listen 127.0.0.1 %d udp"
          % (kamailio if mode == "proxy-pbx" else port),
          *["pbx extension %s secret %s call-limit 32" % kv for kv in SECRET.items()])
    return asterisk, (port if mode == "pbx" else ASTERISK_PORT)


def minimal(base, mode, port, kamailio):
    """An Asterisk on the hand-written files for MODE; its SIP port."""
    asterisk = asterisk_kit.Asterisk(os.path.join(base, "root"))
    if mode == "proxy-pbx":
        port = ASTERISK_PORT
    endpoints = MINIMAL_PBX if mode == "pbx" else MINIMAL_PROXY % {"kamailio": kamailio}
    with open(os.path.join(asterisk.etc, "pjsip.conf"), "w") as f:
        f.write(TRANSPORT % port + endpoints)
    with open(os.path.join(asterisk.etc, "extensions.conf"), "w") as f:
        f.write(DIALPLAN[mode])
    return asterisk, port


def scenario(tmp, name, **values):
    path = sipkit.scenario(tmp, name, **values)
    with open(path) as f:
        text = f.read().replace('response="407"', 'response="401"')
    with open(path, "w") as f:
        f.write(text)
    return path


def sipp(argv, calls):
    return subprocess.Popen(["sipp", *argv, "-i", "127.0.0.1", "-m", str(calls), "-nostdin",
                             "-timeout", "120s", "-timeout_error", "-recv_timeout", "15000"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run(tmp, mode, target, answer_port, calls, rate):
    """(seconds, successful calls) of CALLS calls started at RATE against TARGET."""
    uas = sipp(["-sf", scenario(tmp, "answer", ruri="INVITE sip:102@"), "-p", str(answer_port),
                "-mp", str(sipkit.free_port(count=4) // 2 * 2)], calls)
    deadline = time.time() + 5
    while sipkit.is_free(answer_port) and time.time() < deadline:
        time.sleep(0.02)
    if mode == "pbx":
        uac = ["127.0.0.1:%d" % target, "-sf", scenario(tmp, "caller", user="100", hold=0),
               "-au", "100", "-ap", SECRET["100"]]
    else:
        uac = ["127.0.0.1:%d" % target, "-sf", scenario(tmp, "provider-call", user="100", hold=0)]
    start = time.monotonic()
    client = sipp(uac + ["-s", "102", "-r", str(rate), "-l", "30", "-p", str(sipkit.free_port()),
                         "-mp", str(sipkit.free_port(count=4) // 2 * 2)], calls)
    out, _ = client.communicate(timeout=180)
    elapsed = time.monotonic() - start
    try:
        uas.communicate(timeout=20)
    except subprocess.TimeoutExpired:      # it waits for calls that failed on the way
        uas.kill()
        uas.communicate()
    found = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", out)
    return elapsed, int(found[-1]) if found else 0


def measure(make, mode, args):
    """Median completed calls per second of the Asterisk MAKE builds over ARGS.runs runs,
    and the fewest calls completed in a run."""
    with tempfile.TemporaryDirectory() as base:
        port, kamailio, answer = sipkit.free_port(), sipkit.free_port(), sipkit.free_port()
        if mode == "proxy-pbx":
            answer = kamailio
        asterisk, target = make(base, mode, port, kamailio)
        try:
            asterisk.start()
            rates = []
            for _ in range(args.runs):
                if mode == "pbx":
                    proc = subprocess.run(["sipp", "127.0.0.1:%d" % target, "-sf",
                                           scenario(base, "register", expect=200), "-s", "102",
                                           "-au", "102", "-ap", SECRET["102"], "-i", "127.0.0.1",
                                           "-p", str(answer), "-m", "1", "-nostdin", "-timeout", "30s",
                                           "-timeout_error"], capture_output=True, text=True, timeout=60)
                    if proc.returncode:
                        raise SystemExit("registration of 102 failed: " + proc.stdout[-1500:])
                elapsed, done = run(base, mode, target, answer, args.calls, args.rate)
                rates.append((done / elapsed, done))
            return statistics.median(r for r, _ in rates), min(d for _, d in rates)
        finally:
            asterisk.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rate", type=int, default=100, help="calls started per second")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="pbx,proxy-pbx")
    args = parser.parse_args()
    reason = asterisk_kit.available()
    if reason:
        raise SystemExit("pbx_calls: " + reason)
    print("%d calls at %d/s, median of %d runs, Asterisk %s" % (
        args.calls, args.rate, args.runs,
        subprocess.run(["chroot", asterisk_kit.CHROOT, "asterisk", "-V"], capture_output=True,
                       text=True).stdout.strip()))
    print("%-10s %16s %16s %7s" % ("mode", "besip c/s (ok)", "minimal c/s (ok)", "ratio"))
    for mode in args.modes.split(","):
        (ours, ours_ok), (theirs, theirs_ok) = measure(rendered, mode, args), measure(minimal, mode, args)
        print("%-10s %10.1f (%3d) %10.1f (%3d) %7.2f" % (mode, ours, ours_ok, theirs, theirs_ok,
                                                         ours / theirs if theirs else float("nan")))


if __name__ == "__main__":
    main()
