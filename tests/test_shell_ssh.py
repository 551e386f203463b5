"""`besip` behind a real OpenSSH server (ForceCommand, as on an appliance whose users log in
over SSH), driven by the real `ssh` client in a pseudo-terminal."""

import getpass
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from terminal import Terminal

SSHD = "/usr/sbin/sshd"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sshd(tmp_path, env, office):
    """sshd on a loopback port whose ForceCommand is `besip` on the office data directory."""
    if not os.path.exists(SSHD) or not shutil.which("ssh"):
        pytest.skip("openssh-server and openssh-client are needed (make test installs them)")
    keys = tmp_path / "keys"
    keys.mkdir()
    for name in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True)
    shutil.copy(keys / "user.pub", keys / "authorized_keys")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)      # privilege separation directory
    besip = " ".join(["env", "PYTHONPATH=" + shlex.quote(ROOT),
                      "XDG_CACHE_HOME=" + shlex.quote(env["XDG_CACHE_HOME"]),
                      shlex.quote(sys.executable), "-m", "besip_cli", "--datastore",
                      shlex.quote(office.directory)])
    port = _free_port()
    config = tmp_path / "sshd_config"
    config.write_text("\n".join([
        "Port %d" % port, "ListenAddress 127.0.0.1", "HostKey %s" % (keys / "host"),
        "PidFile %s" % (tmp_path / "sshd.pid"), "AuthorizedKeysFile %s" % (keys / "authorized_keys"),
        "StrictModes no", "UsePAM no", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
        "ForceCommand %s" % besip, ""]))
    server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("sshd did not start: %s" % server.stderr.read().decode())
            time.sleep(0.05)
    argv = ["ssh", "-i", str(keys / "user"), "-p", str(port), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "%s@127.0.0.1" % getpass.getuser()]
    yield argv
    server.terminate()
    server.wait(timeout=10)


def _login(office, role):
    office.config("system user %s role %s ssh-key \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGP075RHceqwwAkndFI3"
                  "olb55U4K/ztvsaXoXYWphUgZ x\"" % (getpass.getuser(), role), "commit")


def test_interactive_shell_over_ssh(sshd, office, env):
    _login(office, "admin")
    term = Terminal(sshd[:-1] + ["-tt", sshd[-1]], dict(env, TERM="xterm-256color"))
    try:
        assert term.wait_prompt(timeout=30) == "office-pbx#"
        users = term.command("show users")
        mine = [row for row in users if row.split()[0].endswith("*")]
        assert mine and " ssh " in mine[0] and "127.0.0.1" in mine[0]
        term.command("conf t")
        term.send("pbx ext?")
        term.wait_text(r"^  extension +Phone extension")
        term.send("\x15")
        term.command("pbx extension 100 display-name \"Over SSH\"")
        term.command("commit")
        term.send("\x1a")
        term.wait_cursor_line(r"office-pbx#")
        term.send("exit\r")
        assert term.wait_exit() == 0
    finally:
        term.close()
    assert 'display-name "Over SSH"' in office.show()


def test_ssh_roles_come_from_system_users(sshd, office, env):
    # office.cfg configures admin and reception, not this account: no login over SSH
    proc = subprocess.run(sshd, input="", capture_output=True, text=True, timeout=60)
    assert "% Permission denied" in proc.stdout + proc.stderr
    _login(office, "operator")
    term = Terminal(sshd[:-1] + ["-tt", sshd[-1]], dict(env, TERM="xterm-256color"))
    try:
        term.wait_prompt(timeout=30)
        assert term.command("configure")[0].startswith("% Permission denied: ")
        assert term.command("show running-config system hostname") == ["system hostname office-pbx"]
    finally:
        term.close()
    # `ssh box COMMAND` runs COMMAND as one line, with the same role
    proc = subprocess.run(sshd + ["show running-config system hostname"], capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout == "system hostname office-pbx\n"
    proc = subprocess.run(sshd + ["configure"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "% Permission denied" in proc.stderr
