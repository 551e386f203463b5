"""The interactive shell on the built-in SSH server (paramiko), driven by the real OpenSSH
client on a pseudo-terminal: one server gives the CLI on `shell` channels and NETCONF on
the `netconf` subsystem."""

import pexpect

from netconf_fixtures import ADMIN_PW, OPER_PW, box, connect, sshd  # noqa: F401 (fixtures)
from terminal import Terminal


def _ssh(port, user, key=None):
    argv = ["ssh", "-tt", "-p", str(port), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    if key:
        argv += ["-i", key, "-o", "BatchMode=yes"]
    else:
        argv += ["-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"]
    return argv + ["%s@127.0.0.1" % user]


def test_admin_with_a_key_configures_over_the_builtin_server(box, sshd, env):
    term = Terminal(_ssh(sshd, "admin", box.key), dict(env, TERM="xterm-256color"))
    try:
        assert term.wait_prompt(timeout=30) == "office-pbx#"
        assert term.command("show running-config system hostname") == ["system hostname office-pbx"]
        term.command("configure")
        term.send("pbx ext?")
        term.wait_text(r"^  extension +")
        term.send("\x15")
        term.command('pbx extension 100 display-name "Built-in SSH"')
        assert term.command("commit") == ["Commit complete."]
        term.send("\x1a")
        term.wait_cursor_line(r"office-pbx#")
        term.send("exit\r")
        term.wait_exit()
    finally:
        term.close()
    assert 'display-name "Built-in SSH"' in box.show()
    with connect(sshd) as netconf:           # the same server speaks NETCONF too
        assert "Built-in SSH" in netconf.get_config(source="running").data_xml


def test_operator_with_a_password_cannot_configure(box, sshd, env):
    term = Terminal(_ssh(sshd, "oper"), dict(env, TERM="xterm-256color"))
    try:
        term.child.expect("assword:", timeout=30)
        term.send(OPER_PW + "\r")
        term.wait_prompt(timeout=30)
        assert term.command("configure")[0].startswith("% Permission denied")
        assert term.command("show running-config system hostname") == ["system hostname office-pbx"]
    finally:
        term.close()


def test_wrong_password_is_refused(sshd):
    child = pexpect.spawn(_ssh(sshd, "oper")[0], _ssh(sshd, "oper")[1:], timeout=30)
    for _ in range(3):
        child.expect("assword:")
        child.sendline("wrong-password")
    child.expect(pexpect.EOF)
    assert "Permission denied" in child.before.decode()


def test_terminal_size_follows_the_client(box, sshd, env):
    term = Terminal(_ssh(sshd, "admin", box.key), dict(env, TERM="xterm-256color"), rows=30,
                    columns=100)
    try:
        term.wait_prompt(timeout=30)
        term.command("configure")
        # 30 rows: the pager stops a long listing after 29 lines
        term.send("do show running-config | display set\r")
        term.wait_text(r"--More--")
        assert 25 <= len([l for l in term.lines() if l.startswith("pbx ") or l.startswith("system ")]) <= 30
    finally:
        term.close()
