"""NETCONF side by side: BESIP's server and yuma123 netconfd (Debian), same YANG module,
same transport (a private OpenSSH sshd each, on loopback, key login as root), same ncclient
client, one run. Prints medians (and p95) in ms and each row's ratio BESIP / netconfd.

ncclient queues each RPC and its I/O thread sends it only when its 100 ms select() wakes
up; here `send` writes the framed message straight to the SSH channel instead, so the
numbers are the servers', not ncclient's tick.

    make bench-netconf        (or: python benchmarks/netconf_vs_netconfd.py [--quick])
It installs the Debian packages netconfd and openssh-server for itself (the product does
not need them) and needs root for sshd.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NS = "urn:besip:bench"
MODULE = """module bench {
  yang-version 1.1;
  namespace "%s";
  prefix b;
  revision 2026-11-25 { description "Benchmark module."; }
  container bench {
    description "Benchmark data.";
    list entry {
      key "name";
      description "One entry.";
      leaf name { type string { length "1..32"; } description "Key."; }
      leaf value { type uint32; description "A number."; }
      leaf note { type string; description "Text."; }
    }
  }
}
""" % NS


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def start_sshd(work, name, port, subsystem, key_pub):
    host = os.path.join(work, name + "-host")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host], check=True)
    config = os.path.join(work, name + "-sshd_config")
    with open(config, "w") as handle:
        handle.write("\n".join([
            "Port %d" % port, "ListenAddress 127.0.0.1", "HostKey %s" % host,
            "AuthorizedKeysFile %s" % key_pub, "PasswordAuthentication no",
            "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no",
            "PidFile %s" % os.path.join(work, name + ".pid"), "Subsystem netconf %s" % subsystem, ""]))
    os.makedirs("/run/sshd", exist_ok=True)
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config], stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def connect(port, key):
    from ncclient import manager
    from ncclient.transport.session import NetconfBase
    m = manager.connect(host="127.0.0.1", port=port, username="root", key_filename=key,
                        hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=600)
    session = m._session

    def send(message):                      # around ncclient's 100 ms queue tick
        data = message.encode()
        if session._base == NetconfBase.BASE_11:
            data = b"\n#%d\n%s\n##\n" % (len(data), data)
        else:
            data += b"]]>]]>"
        session._channel.sendall(data)
    session.send = send
    return m


def entries(start, count, note="x"):
    body = "".join("<entry><name>e%d</name><value>%d</value><note>%s</note></entry>" % (i, i, note)
                   for i in range(start, start + count))
    return '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><bench xmlns="%s">%s</bench></config>' % (NS, body)


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def rss_kb(pids, field="VmHWM"):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as handle:
                for line in handle:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def besip_pids():
    """The processes serving BESIP NETCONF sessions (one per session)."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as handle:
                    if b"besip_cli.netconf.stdio" in handle.read():
                        out.append(int(pid))
            except OSError:
                pass
    return out


def measure(name, port, key, server_pids, quick):
    rows = {}
    n_small = 40 if quick else 200
    rows["session set-up (connect + hello)"] = timed(lambda: connect(port, key).close_session(),
                                                      5 if quick else 20)
    m = connect(port, key)
    m.edit_config(target="candidate", config=entries(0, 100))
    m.commit()
    counter = iter(range(10 ** 6))
    rows["edit-config + commit, 1 entry (100 present)"] = timed(
        lambda: (m.edit_config(target="candidate", config=entries(100 + next(counter), 1)), m.commit()),
        n_small)
    m.edit_config(target="candidate", config=entries(1000, 1000, "y"))
    rows["edit-config 1,000 entries in one request"] = timed(
        lambda: m.edit_config(target="candidate", config=entries(1000, 1000, "z")), 1)
    rows["commit of those 1,000 entries"] = timed(m.commit, 1)
    rows["edit-config 10,000 entries in one request"] = timed(
        lambda: m.edit_config(target="candidate", config=entries(10000, 10000)), 1)
    rows["commit of those 10,000 entries"] = timed(m.commit, 1)
    rows["edit-config + commit, 1 entry (11,000+ present)"] = timed(
        lambda: (m.edit_config(target="candidate", config=entries(30000 + next(counter), 1)), m.commit()),
        2 if quick else 3)
    flt = ("subtree", '<bench xmlns="%s"/>' % NS)
    rows["get-config of 11,000+ entries"] = timed(lambda: m.get_config("running", filter=flt), 3 if quick else 5)
    rows["peak RSS of the server, MB"] = [rss_kb(server_pids()) / 1024.0]
    m.close_session()
    return rows


def conformance(bport, yport, key):
    """Print the conformance column: which hand-written cases each server answers as the
    RFCs ask (benchmarks/netconf_conformance.py)."""
    import netconf_conformance
    ours, theirs = netconf_conformance.run(bport, key, NS), netconf_conformance.run(yport, key, NS)
    print("%-66s %6s %9s" % ("conformance (reply as RFC 6241 asks)", "BESIP", "netconfd"))
    for case, passed in ours.items():
        print("%-66s %6s %9s" % (case, "yes" if passed else "NO", "yes" if theirs[case] else "NO"))
    print("%-66s %6s %9s\n" % ("cases passed", "%d/%d" % (sum(ours.values()), len(ours)),
                                "%d/%d" % (sum(theirs.values()), len(theirs))))


def main():
    parser = argparse.ArgumentParser(description="NETCONF: BESIP vs yuma123 netconfd")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--conformance-only", action="store_true", help="no timings")
    args = parser.parse_args()
    subprocess.run([os.path.join(ROOT, "scripts", "need-apt"), "netconfd", "openssh-server"], check=True)
    work = tempfile.mkdtemp(prefix="nc-bench-")
    yang = os.path.join(work, "yang")
    os.makedirs(yang)
    with open(os.path.join(yang, "bench.yang"), "w") as handle:
        handle.write(MODULE)
    key = os.path.join(work, "client")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    procs = []
    try:
        yport, bport = free_port(), free_port()
        sock = os.path.join(work, "ncxserver.sock")
        netconfd = subprocess.Popen(
            ["netconfd", "--modpath=%s:/usr/share/yuma/modules" % yang,
             "--module=%s" % os.path.join(yang, "bench.yang"), "--no-startup", "--superuser=root",
             "--ncxserver-sockname=%s" % sock, "--port=%d" % yport, "--log-level=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
        procs.append(netconfd)
        deadline = time.time() + 20
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.05)
        procs.append(start_sshd(work, "yuma", yport, "/usr/sbin/netconf-subsystem "
                                "--ncxserver-sockname=%d@%s" % (yport, sock), key + ".pub"))
        wrapper = os.path.join(work, "besip-netconf")
        with open(wrapper, "w") as handle:
            handle.write("#!/bin/sh\nexec env BESIP_YANG=%s XDG_CACHE_HOME=%s PYTHONPATH=%s %s -m "
                         "besip_cli.netconf.stdio --datastore %s\n"
                         % (yang, os.path.join(work, "cache"), ROOT, sys.executable,
                            os.path.join(work, "data")))
        os.chmod(wrapper, 0o755)
        procs.append(start_sshd(work, "besip", bport, wrapper, key + ".pub"))
        conformance(bport, yport, key)
        if args.conformance_only:
            return
        yuma = measure("netconfd", yport, key, lambda: [netconfd.pid], args.quick)
        ours = measure("besip", bport, key, besip_pids, args.quick)
        print("%-48s %12s %12s %8s" % ("median ms (p95)", "BESIP", "netconfd", "ratio"))
        for row, times in ours.items():
            theirs = yuma[row]
            a, b = statistics.median(times), statistics.median(theirs)
            extra = len(times) > 10
            print("%-48s %12s %12s %8.2f" % (
                row, "%.1f" % a + (" (%.1f)" % p95(times) if extra else ""),
                "%.1f" % b + (" (%.1f)" % p95(theirs) if extra else ""), a / b if b else float("nan")))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
