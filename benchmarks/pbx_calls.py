"""Calls per second through a real Asterisk 22 with the BESIP-rendered configuration vs a
minimal hand-written pjsip.conf/extensions.conf on the same Asterisk (same chroot, same
machine, same SIPp load, rounds of the two interleaved), in pbx and proxy-pbx modes. Needs
root and the Asterisk chroot (scripts/asterisk-chroot); loopback only; every round is
bounded in calls (--calls) and time (SIPp's -timeout).

    python benchmarks/pbx_calls.py [--calls 1000] [--concurrent 10] [--rounds 5]

Capacity, not a paced rate: SIPp keeps --concurrent calls in progress and starts the next
one as soon as one ends, so a round's calls per second is what Asterisk completes.
pbx: SIPp phone 100 calls 102 through Asterisk (digest authentication, 401) and a SIPp
phone registered as 102 answers. proxy-pbx: a real Kamailio on the files BESIP renders in
front: phone 100 (authenticated by Kamailio, 407) dials 91234567, Kamailio hands the call
to Asterisk, which logs in to the trunk (a SIPp provider at 127.0.0.2 challenging with
401 and checking the digest) and calls 1234567 there. Each round starts a fresh Asterisk
on its configuration (Kamailio reaches Asterisk at the fixed port 5080). Prints, for each
configuration, the median of the rounds' calls per second (wall clock) and calls per
Asterisk CPU second (user + system of all its threads: steadier on a machine shared with
other work), the ratios of the medians (target >= 0.9), and the fewest calls completed in a
round (both SIPp sides must count a call). Measured on 2 shared cores, 5 rounds of 1000:
pbx 0.98 (419 vs 430 calls/s) and 0.92 per CPU second, the rendered dialplan's call-limit
groups, recording check and all-contacts dialing costing ~6%; proxy-pbx 1.01 and 0.98.
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
ROOT = os.path.join(HERE, "..")
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import asterisk_kit  # noqa: E402
import sipkit  # noqa: E402
from besip_cli.services.asterisk import ASTERISK_PORT  # noqa: E402

SECRET = {"100": "Bench-secret-100", "102": "Bench-secret-102"}
TRUNK_USER, TRUNK_SECRET = "4202000", "Bench-trunk-9"
PROVIDER = "127.0.0.2"
CODECS = "disallow=all\nallow=alaw,ulaw\ndirect_media=no\n"    # media through Asterisk, as BESIP renders
TRANSPORT = "[transport-udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:%d\n"
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
%(codecs)saors=proxy
[proxy]
type=aor
contact=sip:127.0.0.1:%%(kamailio)d
[proxy]
type=identify
endpoint=proxy
match=127.0.0.1
[trunk]
type=endpoint
context=bench
%(codecs)saors=trunk
outbound_auth=trunk-auth
from_user=%(user)s
[trunk]
type=aor
contact=sip:%(provider)s:%%(trunk)d
[trunk-auth]
type=auth
auth_type=userpass
username=%(user)s
password=%(secret)s
""" % dict(codecs=CODECS, user=TRUNK_USER, secret=TRUNK_SECRET, provider=PROVIDER)
DIALPLAN = {"pbx": "[bench]\nexten => 102,1,Dial(PJSIP/102,30)\n same => n,Hangup()\n",
            "proxy-pbx": "[bench]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@trunk,30)\n same => n,Hangup()\n"}


def besip(data, *lines):
    argv = [sys.executable, "-m", "besip_cli", "--datastore", data]
    for line in ("configure",) + lines + ("commit",):
        argv += ["-c", line]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    if proc.returncode:
        raise SystemExit("besip failed: " + proc.stderr)


class Setup:
    """Both configurations of MODE under BASE; start(name) gives a running Asterisk."""

    def __init__(self, base, mode):
        self.base, self.mode = base, mode
        self.port, self.kamailio, self.trunk = sipkit.free_port(), sipkit.free_port(), sipkit.free_port()
        self.proxy = None
        self.roots = {"besip": self.rendered(), "minimal": self.minimal()}

    def rendered(self):
        """The files `besip` renders for the mode (and, in proxy-pbx mode, a running
        Kamailio on its kamailio.cfg, restarted by the commit)."""
        data, root = os.path.join(self.base, "data"), os.path.join(self.base, "besip")
        os.makedirs(data)
        lines = ["pbx mode %s" % self.mode, "pbx domain bench.test",
                 *["pbx extension %s secret %s call-limit 32" % kv for kv in SECRET.items()]]
        if self.mode == "pbx":
            lines.append("pbx sip listen 127.0.0.1 %d udp" % self.port)
            with open(os.path.join(data, "services.toml"), "w") as f:
                f.write('root = "%s"\n[asterisk]\nuser = "%d"\n' % (root, asterisk_kit.UID))
        else:
            self.proxy = sipkit.Kamailio(data, root, os.path.join(self.base, "run"), shm=256)
            with open(os.path.join(data, "services.toml"), "a") as f:
                f.write('[asterisk]\nuser = "%d"\n' % asterisk_kit.UID)
            lines += ["pbx sip listen 127.0.0.1 %d udp" % self.kamailio,
                      "pbx trunk carrier host %s port %d username %s secret %s register false"
                      % (PROVIDER, self.trunk, TRUNK_USER, TRUNK_SECRET),
                      "pbx route out pattern 9X. trunk carrier strip 1"]
        besip(data, *lines)
        return root

    def minimal(self):
        root = os.path.join(self.base, "minimal")
        etc = os.path.join(root, "etc/asterisk")
        os.makedirs(etc)
        if self.mode == "pbx":
            pjsip = TRANSPORT % self.port + MINIMAL_PBX
        else:
            pjsip = TRANSPORT % ASTERISK_PORT + MINIMAL_PROXY % {"kamailio": self.kamailio,
                                                                  "trunk": self.trunk}
        with open(os.path.join(etc, "pjsip.conf"), "w") as f:
            f.write(pjsip)
        with open(os.path.join(etc, "extensions.conf"), "w") as f:
            f.write(DIALPLAN[self.mode])
        return root

    def start(self, name):
        asterisk = asterisk_kit.Asterisk(self.roots[name])
        try:
            asterisk.start()
        except BaseException:
            asterisk.stop()
            raise
        return asterisk

    def stop(self):
        if self.proxy:
            self.proxy.stop()

    def scenario(self, name, **values):
        path = sipkit.scenario(self.base, name, **values)
        if self.mode == "pbx":          # Asterisk challenges INVITEs with 401, Kamailio with 407
            with open(path) as f:
                text = f.read().replace('response="407"', 'response="401"')
            with open(path, "w") as f:
                f.write(text)
        return path

    def round(self, asterisk, calls, concurrent):
        """(seconds, ASTERISK's CPU seconds, calls both sides completed) of CALLS calls,
        CONCURRENT at a time."""
        if self.mode == "pbx":
            answer, address = sipkit.free_port(), "127.0.0.1"
            proc = sipp(["127.0.0.1:%d" % self.port, "-sf", self.scenario("register", expect=200),
                         "-s", "102", "-au", "102", "-ap", SECRET["102"], "-p", str(answer)], 1)
            out, _ = proc.communicate(timeout=60)
            if proc.returncode:
                raise SystemExit("registration of 102 failed: " + out[-1500:])
            uas = self.scenario("answer", ruri="INVITE sip:102@127[.]0[.]0[.]1:")
            target, number = self.port, "102"
        else:
            answer, address = self.trunk, PROVIDER
            uas = self.scenario("provider-auth", ruri="INVITE sip:1234567@127[.]0[.]0[.]2:",
                                user=TRUNK_USER, password=TRUNK_SECRET)
            target, number = self.kamailio, "91234567"
        server = sipp(["-sf", uas, "-p", str(answer)], calls, address)
        deadline = time.time() + 5
        while sipkit.is_free(answer, address) and time.time() < deadline:
            time.sleep(0.02)
        start, cpu = time.monotonic(), cpu_seconds(asterisk)
        client = sipp(["127.0.0.1:%d" % target, "-sf", self.scenario("caller", user="100", hold=0),
                       "-s", number, "-au", "100", "-ap", SECRET["100"], "-p", str(sipkit.free_port()),
                       "-l", str(concurrent), "-r", "1000"], calls)
        out, _ = client.communicate(timeout=180)
        elapsed, cpu = time.monotonic() - start, cpu_seconds(asterisk) - cpu
        try:
            answered, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:      # it waits for calls that failed on the way
            server.kill()
            answered, _ = server.communicate()
        return elapsed, cpu, min(successful(out), successful(answered))


def cpu_seconds(asterisk):
    """The CPU time (user + system, all threads) the running ASTERISK has used."""
    with open(os.path.join(asterisk.dir, "run/asterisk.pid")) as f:
        pid = f.read().strip()
    with open("/proc/%s/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def successful(report):
    """The successful calls of a SIPp run's final statistics (both sides must count a call)."""
    found = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", report)
    return int(found[-1]) if found else 0


def sipp(argv, calls, address="127.0.0.1"):
    return subprocess.Popen(["sipp", *argv, "-i", address, "-m", str(calls), "-nostdin", "-aa",
                             "-mp", str(sipkit.free_port(count=4) // 2 * 2),
                             "-timeout", "120s", "-timeout_error", "-recv_timeout", "5000"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def measure(mode, args):
    """{configuration: [(calls per second, calls per Asterisk CPU second, successful
    calls)]} over ARGS.rounds rounds, the two configurations alternating which goes first."""
    results = {"besip": [], "minimal": []}
    with tempfile.TemporaryDirectory() as base:
        setup = Setup(base, mode)
        try:
            for i in range(args.rounds):
                for name in (("besip", "minimal") if i % 2 == 0 else ("minimal", "besip")):
                    asterisk = setup.start(name)
                    try:
                        elapsed, cpu, done = setup.round(asterisk, args.calls, args.concurrent)
                    finally:
                        asterisk.stop()
                    results[name].append((done / elapsed, done / cpu, done))
        finally:
            setup.stop()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per round")
    parser.add_argument("--concurrent", type=int, default=10, help="calls in progress at a time")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--modes", default="pbx,proxy-pbx")
    args = parser.parse_args()
    reason = asterisk_kit.available() or ("" if sipkit.available() else "needs kamailio, kamcmd and sipp")
    if reason:
        raise SystemExit("pbx_calls: " + reason)
    if not 1 <= args.concurrent <= 30:
        raise SystemExit("pbx_calls: --concurrent must be 1..30 (the rendered call-limit is 32)")
    print("%d calls per round, %d at a time, median of %d rounds, %s" % (
        args.calls, args.concurrent, args.rounds,
        subprocess.run(["chroot", asterisk_kit.CHROOT, "asterisk", "-V"], capture_output=True,
                       text=True).stdout.strip()))
    print("%-10s %-13s %9s %9s %6s %s" % ("mode", "metric", "besip", "minimal", "ratio", "rounds (besip / minimal)"))
    for mode in args.modes.split(","):
        results = measure(mode, args)
        for column, metric in ((0, "calls/s"), (1, "calls/cpu-s")):
            ours, theirs = (statistics.median(r[column] for r in results[n]) for n in ("besip", "minimal"))
            print("%-10s %-13s %9.1f %9.1f %6.2f %s / %s" % (
                mode, metric, ours, theirs, ours / theirs if theirs else float("nan"),
                *(" ".join("%.0f" % r[column] for r in results[n]) for n in ("besip", "minimal"))))
        print("%-10s %-13s %9d %9d" % (mode, "fewest ok", *(min(r[2] for r in results[n])
                                                            for n in ("besip", "minimal"))))

if __name__ == "__main__":
    main()
