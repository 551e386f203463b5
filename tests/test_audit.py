"""The audit trail: logins, failed logins, commits, rollbacks, confirmed-commit reverts and
lock breaks reach syslog (a datagram socket the test binds, named by $BESIP_SYSLOG) and
`show log audit`. Driven by the real programs: OpenSSH's client and paramiko against the
real besip-sshd, ncclient, the real besip in a pseudo-terminal and with -c."""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import paramiko
import pexpect
import pytest

from conftest import Besip
from netconf_fixtures import ADMIN_PW, OPER_PW, box, connect, free_port  # noqa: F401 (fixtures)
from terminal import Terminal
from test_durability import _fill, read_only, small_filesystem

AUTH, USER = 4 << 3, 1 << 3                       # syslog facilities
INFO, NOTICE, WARNING = 6, 5, 4
LINE = re.compile(r"<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d besip\[(\d+)\]: (.*)", re.S)


class Syslog:
    """A unix datagram socket standing in for /dev/log, read as a syslog daemon does."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.received = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            while True:
                self.received.put(self.sock.recv(65536).decode())
        except OSError:
            pass

    def messages(self, wait_for=None, timeout=10):
        """[(priority, message)] received since the last call; waits up to TIMEOUT until
        one contains WAIT_FOR (without it, 0.3 s for stragglers)."""
        got, deadline = [], time.monotonic() + (timeout if wait_for else 0.3)
        while time.monotonic() < deadline:
            try:
                match = LINE.fullmatch(self.received.get(timeout=0.05))
            except queue.Empty:
                continue
            assert match, "not a syslog(3) datagram"
            got.append((int(match.group(1)), match.group(3)))
            if wait_for and wait_for in match.group(3):
                break
        return got

    def close(self):
        self.sock.close()


@pytest.fixture
def syslog(tmp_path):
    log = Syslog(tmp_path / "log")
    yield log
    log.close()


@pytest.fixture
def logged_env(env, syslog):
    return dict(env, BESIP_SYSLOG=syslog.path)


@pytest.fixture
def besip_sshd(box, logged_env):
    """The real besip-sshd program on a loopback port, logging to the test's socket."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "besip_cli.ssh.server", "--datastore",
                             box.directory, "--listen", "127.0.0.1", "--port", str(port)],
                            env=logged_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert b"listening" in proc.stdout.readline()
    yield port
    proc.terminate()
    proc.wait(10)


def _ssh(port, user, *options):
    return ["ssh", "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", *options,
            "%s@127.0.0.1" % user]


def _password_attempts(port, user, password, tries=1):
    child = pexpect.spawn("ssh", _ssh(port, user, "-o", "PubkeyAuthentication=no", "-o",
                                      "NumberOfPasswordPrompts=%d" % tries)[1:], timeout=30)
    for _ in range(tries):
        child.expect("assword:")
        child.sendline(password)
    child.expect(pexpect.EOF)
    child.close()


def _audit(besip, pipe=""):
    """The lines of `show log audit [PIPE]`, without the heading."""
    lines = besip("show log audit " + pipe, check=0).stdout.splitlines()
    if not pipe:
        assert lines.pop(0).split() == ["Time", "User", "Client", "From", "Event", "Detail"]
    return lines


def test_logins_and_failed_logins_over_besip_sshd(box, besip_sshd, syslog, logged_env, tmp_path):
    before = _audit(box)
    _password_attempts(besip_sshd, "oper", "wrong-password", tries=2)
    _password_attempts(besip_sshd, "mallory", "guess")
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    refused = subprocess.run(_ssh(besip_sshd, "admin", "-i", str(stranger), "-o", "BatchMode=yes",
                                  "-o", "IdentitiesOnly=yes"), capture_output=True, timeout=30)
    assert refused.returncode == 255
    shell = Terminal(_ssh(besip_sshd, "admin", "-tt", "-i", box.key, "-o", "BatchMode=yes",
                          "-o", "IdentitiesOnly=yes"), logged_env)
    try:
        shell.wait_prompt(timeout=30)
        shell.send("exit\r")
        shell.wait(lambda: shell.closed, "the shell to end")
    finally:
        shell.child.close()
    with connect(besip_sshd, user="oper", password=OPER_PW):
        pass

    fingerprint = subprocess.run(["ssh-keygen", "-l", "-f", str(stranger) + ".pub"],
                                 capture_output=True, text=True, check=True).stdout.split()[1]
    failed = "login-failed user=%s client=besip-sshd from=127.0.0.1: "
    expected = [
        (AUTH | WARNING, failed % "oper" + "bad password"),
        (AUTH | WARNING, failed % "oper" + "bad password"),
        (AUTH | WARNING, failed % "mallory" + "unknown user (bad password)"),
        (AUTH | WARNING, failed % "admin" + "key refused: ssh-ed25519 " + fingerprint),
    ]
    got = syslog.messages(wait_for="client=netconf")
    assert [(p, m) for p, m in got if "login-failed" in m] == expected
    logins = [(p, m) for p, m in got if m.startswith("login user=")]
    assert [(p, re.sub(r"session \d+", "session N", m)) for p, m in logins] == [
        (AUTH | INFO, "login user=admin client=ssh from=127.0.0.1: interactive shell, "
                      "role admin, session N"),
        (AUTH | INFO, "login user=oper client=netconf from=127.0.0.1: netconf, role operator, "
                      "session N")]

    table = _audit(box)[len(before):]
    assert [line.split()[2:6] for line in table] == [
        ["oper", "besip-sshd", "127.0.0.1", "login-failed"],
        ["oper", "besip-sshd", "127.0.0.1", "login-failed"],
        ["mallory", "besip-sshd", "127.0.0.1", "login-failed"],
        ["admin", "besip-sshd", "127.0.0.1", "login-failed"],
        ["admin", "ssh", "127.0.0.1", "login"],
        ["oper", "netconf", "127.0.0.1", "login"],
        ["root", "cli", "-", "login"]]          # this `show log audit` itself
    assert table[3].endswith("key refused: ssh-ed25519 " + fingerprint)
    assert box("show log audit | include login-failed | count", check=0).stdout == "4\n"
    assert box("show log audit | include \"127.0.0.1 +login \"", check=0).stdout.count("\n") == 2


def test_a_forged_user_name_cannot_forge_log_lines(box, besip_sshd, syslog):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with pytest.raises(paramiko.AuthenticationException):
        client.connect("127.0.0.1", besip_sshd, username="eve\nlogin user=admin", password="x",
                       look_for_keys=False, allow_agent=False, timeout=30)
    client.close()
    got = syslog.messages(wait_for="eve")
    assert [m for _p, m in got] == [
        "login-failed user=eve\\u000alogin user=admin client=besip-sshd from=127.0.0.1: "
        "unknown user (bad password)"]


def test_commits_rollbacks_and_reverts(tmp_path, logged_env, syslog):
    besip = Besip(tmp_path / "data", logged_env)
    besip.config("system hostname first", 'commit comment "first one"')
    besip.config("system hostname second", "commit")
    besip.config("rollback 1", "commit comment back")
    besip.config("system hostname trial", "commit confirmed 1s")
    got = syslog.messages(wait_for="revert user=", timeout=30)      # the timer reverts it
    assert [(p, m) for p, m in got if not m.startswith("login")] == [
        (USER | NOTICE, 'commit user=root client=cli from=-: commit 1, comment "first one"'),
        (USER | NOTICE, "commit user=root client=cli from=-: commit 2"),
        (USER | NOTICE, "rollback user=root client=cli from=-: rollback 1 (commit 1) loaded "
                        "into the candidate"),
        (USER | NOTICE, 'commit user=root client=cli from=-: commit 3, comment "back"'),
        (USER | NOTICE, "commit user=root client=cli from=-: commit 4"),
        (USER | NOTICE, "commit user=system client=confirm-timer from=-: commit 5, comment "
                        '"automatic rollback: commit 4 not confirmed in time"'),
        (USER | WARNING, "revert user=system client=confirm-timer from=-: commit 4 not "
                         "confirmed in time: rolled back (commit 5)")]
    table = [line for line in _audit(besip) if " login " not in line]
    assert [line.split()[5] for line in table] == ["commit", "commit", "rollback", "commit",
                                                   "commit", "commit", "revert"]
    assert table[-1].split()[2:5] == ["system", "confirm-timer", "-"]


def test_kill_session_breaks_a_lock(box, besip_sshd, syslog):
    holder = connect(besip_sshd)
    with connect(besip_sshd) as killer:
        holder.lock("candidate")
        killer.kill_session(holder.session_id)
        victim = holder.session_id
    got = [m for _p, m in syslog.messages(wait_for="kill-session") if "kill-session" in m]
    assert len(got) == 1 and re.fullmatch(
        r"lock-break user=admin client=netconf from=127.0.0.1: kill-session %s of admin "
        r"\(netconf, pid \d+, from 127.0.0.1\): released its candidate lock" % victim, got[0])
    assert box("show log audit | include kill-session %s " % victim, check=0).stdout.count(
        "lock-break") == 1


def test_a_lock_left_by_a_dead_process_is_a_lock_break(tmp_path, logged_env, syslog):
    besip = Besip(tmp_path / "data", logged_env)
    besip.config("system hostname box", "commit")
    shell = Terminal([sys.executable, "-m", "besip_cli", "--datastore", besip.directory], logged_env)
    try:
        shell.wait_prompt()
        shell.send("configure exclusive\r")
        shell.wait_cursor_line(r"box\(config\)#")
        os.kill(shell.child.pid, signal.SIGKILL)
    finally:
        shell.child.close(force=True)
    besip("show configuration sessions", check=0)       # any session notices the dead one
    received = syslog.messages(wait_for="lock-break")
    assert (AUTH | INFO, "login user=root client=cli from=-: interactive shell, role admin, "
                         "session 2") in received
    got = [(p, m) for p, m in received if "lock-break" in m]
    assert len(got) == 1 and got[0][0] == USER | WARNING
    assert re.fullmatch(r"lock-break user=root client=cli from=-: session \d+ \(pid %d\) ended "
                        r"holding the (candidate and )?running locks?: released" % shell.child.pid,
                        got[0][1])
    assert len(_audit(besip, "| include lock-break")) == 1


def test_a_local_besip_netconf_login(tmp_path, logged_env, syslog):
    besip = Besip(tmp_path / "data", logged_env)
    besip.config("system hostname box", "commit")
    base = "urn:ietf:params:xml:ns:netconf:base:1.0"
    messages = ('<hello xmlns="%s"><capabilities><capability>urn:ietf:params:netconf:base:1.0'
                '</capability></capabilities></hello>]]>]]><rpc message-id="1" xmlns="%s">'
                '<close-session/></rpc>]]>]]>' % (base, base))
    subprocess.run([sys.executable, "-m", "besip_cli.netconf.stdio", "--datastore",
                    besip.directory], input=messages, capture_output=True, text=True,
                   env=logged_env, timeout=60, check=True)
    assert syslog.messages(wait_for="client=netconf")[-1] == (
        AUTH | INFO, "login user=root client=netconf from=-: netconf, role admin, session 2")


def test_a_read_only_data_directory_still_logs_to_syslog(tmp_path, logged_env, syslog):
    besip = Besip(tmp_path / "data", logged_env)
    besip.config("system hostname box", "commit")
    before = _audit(besip)
    syslog.messages()
    with read_only(besip.directory):
        proc = besip("show running-config system hostname", check=0)
        assert (proc.stdout, proc.stderr) == ("system hostname box\n", "")
        assert syslog.messages(wait_for="login user=root")[-1][1].startswith("login user=root")
        assert _audit(besip) == before            # the table could not be written: no error


def test_a_full_data_directory_still_logs_to_syslog(tmp_path, logged_env, syslog):
    with small_filesystem(tmp_path / "small") as small:
        besip = Besip(small / "data", logged_env)
        besip.config("system hostname box", "commit")
        filler = _fill(small, 0)
        syslog.messages()
        for _ in range(3):
            proc = besip("show running-config system hostname", check=0)
            assert (proc.stdout, proc.stderr) == ("system hostname box\n", "")
            assert syslog.messages(wait_for="login user=root")[-1][1].startswith("login user=root")
        os.unlink(filler)


def test_the_table_keeps_the_newest_events(tmp_path):
    from besip_cli.audit import journal
    directory = str(tmp_path)
    for n in range(journal.KEEP + 25):
        assert journal.append(directory, (n, "u", "cli", "", "commit", "commit %d" % n))
    rows = journal.events(directory)
    assert len(rows) == journal.KEEP
    assert rows[0][5] == "commit 25" and rows[-1][5] == "commit %d" % (journal.KEEP + 24)
