"""Servers for the NETCONF tests: the built-in SSH server in a thread, a private OpenSSH
sshd with the `besip-netconf` subsystem, both on free loopback ports, and ncclient."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import EXAMPLE, ROOT

ADMIN_PW = "Adm1n-pass-1"
OPER_PW = "Op3r-pass-22"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def box(tmp_path_factory, env):
    """A data directory: the office example, plus users admin, oper (operator) and root
    (admin, key-only, for the OpenSSH test), with a client key for admin and root."""
    from conftest import Besip
    base = tmp_path_factory.mktemp("box")
    key = base / "client_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    pub = key.with_suffix(".pub").read_text().strip()
    besip = Besip(base / "data", env)
    besip(file=EXAMPLE, check=0)
    besip.config('system user admin role admin password %s ssh-key "%s"' % (ADMIN_PW, pub),
                 "system user oper role operator password %s" % OPER_PW,
                 'system user root role admin ssh-key "%s"' % pub, "commit")
    besip.key = str(key)
    return besip


@pytest.fixture(scope="module")
def sshd(box):
    """The built-in SSH server on a loopback port; yields the port."""
    from besip_cli.ssh.server import serve_forever
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()
    thread = threading.Thread(target=serve_forever, args=(listener, box.directory, stop), daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


@pytest.fixture(scope="module")
def openssh(box, tmp_path_factory, env):
    """OpenSSH's sshd on a loopback port with `Subsystem netconf besip-netconf`."""
    sshd_bin = shutil.which("sshd") or "/usr/sbin/sshd"
    if os.geteuid() != 0:
        pytest.skip("OpenSSH's sshd needs root to switch users")
    work = tmp_path_factory.mktemp("openssh")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "host")], check=True)
    authorized = work / "authorized_keys"
    authorized.write_text(open(box.key + ".pub").read())
    os.chmod(authorized, 0o600)
    wrapper = work / "besip-netconf"
    wrapper.write_text("#!/bin/sh\nexec env PYTHONPATH=%s XDG_CACHE_HOME=%s %s -m besip_cli.netconf.stdio "
                       "--datastore %s\n" % (ROOT, env["XDG_CACHE_HOME"], sys.executable, box.directory))
    os.chmod(wrapper, 0o755)
    port = free_port()
    config = work / "sshd_config"
    config.write_text("\n".join([
        "Port %d" % port, "ListenAddress 127.0.0.1", "HostKey %s" % (work / "host"),
        "AuthorizedKeysFile %s" % authorized, "PasswordAuthentication no",
        "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no",
        "PidFile %s" % (work / "pid"), "Subsystem netconf %s" % wrapper, ""]))
    os.makedirs("/run/sshd", exist_ok=True)
    proc = subprocess.Popen([sshd_bin, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


def connect(port, user="admin", password=ADMIN_PW, key=None):
    from ncclient import manager
    return manager.connect(host="127.0.0.1", port=port, username=user, password=password,
                           key_filename=key, hostkey_verify=False, look_for_keys=False,
                           allow_agent=False, timeout=30)


@pytest.fixture(scope="module")
def sshd_process(box, env, tmp_path_factory):
    """`besip-sshd` as its own process on a loopback port; yields (port, its stderr file)."""
    port = free_port()
    log = tmp_path_factory.mktemp("sshd") / "stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "besip_cli.ssh.server", "--datastore",
                                 box.directory, "--listen", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=subprocess.PIPE, stderr=err)
    assert proc.stdout.readline().startswith(b"besip-sshd listening")   # no probe connection
    yield port, log
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()
