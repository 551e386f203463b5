"""Network namespaces a test creates: a server joined to other hosts by veth pairs, each
pair its own /24 (10.77.N.0/24: .1 the server's side, .2 the host's). Needs root, ip and
nftables; everything is deleted on close()."""

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys

_serial = itertools.count(1)


def available():
    return os.geteuid() == 0 and all(shutil.which(p) for p in ("ip", "nft"))


def run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30, **kw)


class Lab:
    """A server namespace and hosts added with host(); names are unique per process."""

    def __init__(self):
        self.prefix = "bips%d-%d" % (os.getpid() % 100000, next(_serial))
        self.server = self.prefix + "-srv"
        self.names = [self.server]
        run(["ip", "netns", "add", self.server])
        self.exec(self.server, "ip", "link", "set", "lo", "up")
        self.hosts = {}

    def host(self, name):
        """A host namespace NAME on its own veth link; returns its address (the server's is
        server_address(NAME))."""
        index = len(self.hosts) + 1
        ns = "%s-%s" % (self.prefix, name)
        run(["ip", "netns", "add", ns])
        self.names.append(ns)
        here, there = "%s%dh" % (self.prefix[-6:], index), "%s%ds" % (self.prefix[-6:], index)
        run(["ip", "link", "add", here, "netns", ns, "type", "veth", "peer", "name", there,
             "netns", self.server])
        self.exec(ns, "ip", "link", "set", "lo", "up")
        self.exec(ns, "ip", "addr", "add", "10.77.%d.2/24" % index, "dev", here)
        self.exec(ns, "ip", "link", "set", here, "up")
        self.exec(self.server, "ip", "addr", "add", "10.77.%d.1/24" % index, "dev", there)
        self.exec(self.server, "ip", "link", "set", there, "up")
        self.hosts[name] = (ns, index)
        return "10.77.%d.2" % index

    def ns(self, name):
        return self.hosts[name][0]

    def link(self, name):
        """The server's end of host NAME's veth link (an interface name)."""
        return "%s%ds" % (self.prefix[-6:], self.hosts[name][1])

    def route(self, name):
        """Let host NAME reach the other hosts through the server (which forwards)."""
        self.exec(self.server, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.exec(self.ns(name), "ip", "route", "add", "default", "via", self.server_address(name))

    def server_address(self, name):
        return "10.77.%d.1" % self.hosts[name][1]

    def argv(self, ns, *argv):
        return ["ip", "netns", "exec", ns] + list(argv)

    def exec(self, ns, *argv, check=True):
        return subprocess.run(self.argv(ns, *argv), check=check, capture_output=True, text=True,
                              timeout=60)

    def besip(self, data, env, *lines, check=0):
        """Run `besip` on data directory DATA with LINES in the server namespace; the
        CompletedProcess, its exit status CHECK, no traceback."""
        argv = [sys.executable, "-m", "besip_cli", "--datastore", data]
        for line in lines:
            argv += ["-c", line]
        proc = subprocess.run(self.argv(self.server, *argv), capture_output=True, text=True, env=env, timeout=60)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode == check, (proc.stdout, proc.stderr)
        return proc

    def close(self):
        """Kill what still runs in the namespaces (the test's own processes) and delete them."""
        for name in reversed(self.names):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout
            for pid in pids.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


@contextlib.contextmanager
def neighbour():
    """A network namespace with one veth link to this (the test's own) namespace, for a
    peer of a program that runs here: yields (its name, this side's address, its address),
    in 10.199.N.0/30. Removed at the end."""
    n = os.getpid() % 250 + 1
    name, here, there = "besip-nb-%d" % os.getpid(), "10.199.%d.1" % n, "10.199.%d.2" % n
    link = "bnb%d" % os.getpid()
    steps = [["ip", "netns", "add", name],
             ["ip", "link", "add", link, "type", "veth", "peer", "name", link + "p"],
             ["ip", "link", "set", link + "p", "netns", name],
             ["ip", "addr", "add", here + "/30", "dev", link], ["ip", "link", "set", link, "up"],
             ["ip", "-n", name, "addr", "add", there + "/30", "dev", link + "p"],
             ["ip", "-n", name, "link", "set", link + "p", "up"],
             ["ip", "-n", name, "link", "set", "lo", "up"]]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        yield name, here, there
    finally:
        subprocess.run(["ip", "link", "del", link], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
