"""Real Kamailio and SIPp on loopback for the call tests: free ports, a restart command
the service pipeline runs on commit, and SIPp runs of the scenarios in tests/sipp/."""

import os
import shutil
import signal
import socket
import subprocess
import time

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
SIPP_TIMEOUT = 30

RESTART = """#!/bin/sh
# Restart Kamailio on the files BESIP rendered under $BESIP_ROOT (the pipeline's reload).
RUN=%(run)s
if [ -f $RUN/kamailio.pid ]; then
    kill $(cat $RUN/kamailio.pid) 2>/dev/null
    i=0
    while kill -0 $(cat $RUN/kamailio.pid) 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
fi
rm -f $RUN/kamailio.pid $RUN/kamailio_ctl
exec kamailio -f $BESIP_ROOT/etc/kamailio/kamailio.cfg -P $RUN/kamailio.pid -Y $RUN -w $RUN %(options)s
"""
CHECK = ("i=0; while [ $i -lt 100 ]; do kamcmd -s %(run)s/kamailio_ctl core.uptime >/dev/null 2>&1"
         " && exit 0; sleep 0.05; i=$((i+1)); done; echo 'Kamailio does not answer' >&2; exit 1")


def free_port(kind=socket.SOCK_DGRAM, count=1):
    """A free loopback port (COUNT consecutive ones free for UDP and TCP)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + count < 65000 and all(is_free(port + i) for i in range(count)):
            return port


def is_free(port, address="127.0.0.1"):
    """True if PORT is free on loopback ADDRESS for both UDP and TCP."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((address, port))
            except OSError:
                return False
    return True


class Kamailio:
    """Deployment settings making commits restart a private Kamailio; stop() ends it.
    SHM: its shared memory in MB (Kamailio's default is 64: a load of hundreds of calls
    per second holds more transactions than that)."""

    def __init__(self, datadir, root, run, shm=None):
        self.run = str(run)
        os.makedirs(self.run, exist_ok=True)
        os.makedirs(datadir, exist_ok=True)
        script = os.path.join(self.run, "restart")
        with open(script, "w") as f:
            f.write(RESTART % {"run": self.run, "options": "-m %d" % shm if shm else ""})
        os.chmod(script, 0o755)
        with open(os.path.join(datadir, "services.toml"), "w") as f:
            f.write('root = "%s"\n[kamailio]\nreload = "%s"\ncheck = "%s"\nruntime = "%s"\n'
                    % (root, script, CHECK % {"run": self.run}, self.run))

    @property
    def ctl(self):
        return os.path.join(self.run, "kamailio_ctl")

    def pid(self):
        try:
            with open(os.path.join(self.run, "kamailio.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)

    def rpc(self, *args):
        return subprocess.run(["kamcmd", "-s", self.ctl] + list(args), capture_output=True,
                              text=True, timeout=10).stdout


def scenario(tmpdir, name, **values):
    """A copy of tests/sipp/NAME.xml with @KEY@ placeholders replaced."""
    with open(os.path.join(SCENARIOS, name + ".xml")) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace("@%s@" % key.upper(), str(value))
    path = os.path.join(str(tmpdir), "%s-%s.xml" % (name, "-".join(str(v) for v in values.values())
                                                    .replace("/", "_").replace("^", "")[:40]))
    with open(path, "w") as f:
        f.write(text)
    return path


def sipp(target, path, service, user=None, password=None, background=False, port=None,
         address="127.0.0.1", netns=None, media_port=None, options=()):
    """Run SIPp once (one call) on ADDRESS against TARGET (host:port; None: wait for a
    call), in network namespace NETNS if given, its RTP on MEDIA_PORT (default: a free
    one), with more OPTIONS (e.g. -rtp_echo); a Popen when BACKGROUND. Unexpected NOTIFY,
    OPTIONS, INFO and UPDATE inside a call get a 200 (-aa)."""
    argv = (["ip", "netns", "exec", netns] if netns else []) + ["sipp"] + ([target] if target else []) + ["-sf", path, "-i", address, "-p", str(port or free_port()),
            "-mp", str(media_port or free_port(count=4) // 2 * 2), "-m", "1", "-s", service, "-nostdin", "-aa",
            "-timeout", "%ds" % SIPP_TIMEOUT, "-timeout_error", "-recv_timeout", "15000"] + list(options)
    if user:
        argv += ["-au", user, "-ap", password]
    if background:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(argv, capture_output=True, text=True, timeout=SIPP_TIMEOUT + 10)


def available():
    return all(shutil.which(p) for p in ("kamailio", "kamcmd", "sipp"))

