"""Registration throughput of Kamailio with the BESIP-generated configuration vs a minimal
hand-written registrar (same Kamailio, same subscriber database, same machine), driven by
SIPp with the same rate ramp. Loopback only; every run is bounded in count and time.

    PYTHONPATH=. python benchmarks/registration_throughput.py [--rates 500,1000,2000,4000] [--seconds 3] [--runs 3]

Prints, per rate, the median successful REGISTER transactions per second (challenge +
authenticated REGISTER + 200) of each configuration and their ratio (target >= 0.9).
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from besip_cli.datastore.session import Session  # noqa: E402

USERS = 1000
MINIMAL = """#!KAMAILIO
children=4
auto_aliases=no
listen=udp:127.0.0.1:%(port)d
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "db_sqlite.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("auth_db", "db_url", "sqlite:///%(db)s")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "use_domain", 0)
request_route {
	if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
	if (!is_method("REGISTER")) { sl_send_reply("404", "Not Found"); exit; }
	if (!auth_check("bench.test", "subscriber", "1")) { auth_challenge("bench.test", "0"); exit; }
	if (!save("location")) { sl_reply_error(); }
	exit;
}
"""
SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register-auth">
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@bench.test>;tag=[call_number]
To: <sip:[field0]@bench.test>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
Expires: 600
Content-Length: 0

]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@bench.test>;tag=[call_number]
To: <sip:[field0]@bench.test>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[field0]@[local_ip]:[local_port]>
[field1]
Max-Forwards: 70
Expires: 600
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generated(work, port):
    """Commit USERS extensions through BESIP; the paths of its kamailio.cfg and database."""
    data = os.path.join(work, "data")
    os.makedirs(data)
    with open(os.path.join(data, "services.toml"), "w") as f:
        f.write('root = "%s"\n[kamailio]\nruntime = "%s"\n' % (os.path.join(work, "root"), work))
    session = Session(data, user="bench", client="bench")
    extensions = {str(2000 + i): {"number": str(2000 + i), "secret": "Secret-%04d" % i}
                  for i in range(USERS)}
    session.replace_candidate({"pbx": {"mode": "proxy", "domain": "bench.test", "extension": extensions,
                                       "sip": {"listen": {("127.0.0.1", str(port), "udp"): {
                                           "address": "127.0.0.1", "port": str(port), "transport": "udp"}}}}})
    session.commit("benchmark")
    session.close()
    return os.path.join(work, "root/etc/kamailio/kamailio.cfg"), os.path.join(work, "root/etc/kamailio/besip.sqlite")


class Kamailio:
    def __init__(self, cfg, run):
        self.run, self.cfg = run, cfg
        log = run + "/kamailio.log"
        for _ in range(20):         # the previous instance may still hold the port
            with open(log, "w") as f:
                proc = subprocess.run(["kamailio", "-f", cfg, "-P", run + "/k.pid", "-Y", run, "-w", run,
                                       "-E"], stdout=subprocess.DEVNULL, stderr=f)
            if proc.returncode == 0:
                break
            time.sleep(0.25)
        else:
            with open(log) as f:
                raise SystemExit("kamailio does not start: %s" % f.read()[-1500:])
        time.sleep(0.5)

    def stop(self):
        with open(self.run + "/k.pid") as f:
            pid = int(f.read())
        os.kill(pid, 15)
        start = time.time()
        while time.time() - start < 20:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
        print("(%s stopped in %.1f s)" % (os.path.basename(self.cfg), time.time() - start), file=sys.stderr)
        if os.path.exists(self.run + "/k.pid"):
            os.unlink(self.run + "/k.pid")


def sipp_rate(work, port, rate, seconds):
    """Successful registrations per second at RATE for SECONDS (bounded by -m and timeout)."""
    count = int(rate * seconds)
    start = time.perf_counter()
    proc = subprocess.run(["sipp", "127.0.0.1:%d" % port, "-sf", work + "/reg.xml", "-inf", work + "/users.csv",
                           "-i", "127.0.0.1", "-p", str(free_port()), "-r", str(rate), "-m", str(count),
                           "-l", str(max(rate, 100)), "-nostdin", "-timeout", "%ds" % (seconds * 4 + 10),
                           "-recv_timeout", "3000", "-default_behaviors", "all,-bye"],
                          capture_output=True, text=True, timeout=seconds * 4 + 30)
    elapsed = time.perf_counter() - start
    m = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", proc.stdout)
    ok = int(m.group(1)) if m else 0
    return ok / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="500,1000,2000,4000")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    # /run is RAM on the appliance: keep Kamailio's runtime files (location table) in RAM too.
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as work:
        port = free_port()
        cfg, db = generated(work, port)
        with open(work + "/minimal.cfg", "w") as f:
            f.write(MINIMAL % {"port": port, "db": db})
        with open(work + "/reg.xml", "w") as f:
            f.write(SCENARIO)
        with open(work + "/users.csv", "w") as f:
            f.write("SEQUENTIAL\n" + "".join("%d;[authentication username=%d password=Secret-%04d]\n"
                                              % (2000 + i, 2000 + i, i) for i in range(USERS)))
        results = {"generated": {r: [] for r in rates}, "minimal": {r: [] for r in rates}}
        for _ in range(args.runs):
            for name, path in (("generated", cfg), ("minimal", work + "/minimal.cfg")):
                kamailio = Kamailio(path, work)
                try:
                    for rate in rates:
                        results[name][rate].append(sipp_rate(work, port, rate, args.seconds))
                finally:
                    kamailio.stop()
    print("%-8s %-22s %-22s %s" % ("rate/s", "generated (reg/s)", "minimal (reg/s)", "ratio"))
    for rate in rates:
        g = statistics.median(results["generated"][rate])
        m = statistics.median(results["minimal"][rate])
        print("%-8d %-22.1f %-22.1f %.2f" % (rate, g, m, g / m if m else float("nan")))


if __name__ == "__main__":
    main()
