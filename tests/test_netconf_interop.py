"""Other real NETCONF clients: yangcli (yuma123, Debian) and netconf-console2 (PyPI), through
the built-in SSH server and through OpenSSH's subsystem."""

import os
import shutil
import subprocess
import sys

import pytest

from netconf_fixtures import ADMIN_PW, box, openssh, sshd  # noqa: F401

SYS = "urn:besip:params:xml:ns:yang:besip-system"


def yangcli(port, script, tmp_path, *auth):
    if not shutil.which("yangcli"):
        pytest.fail("yangcli is missing: apt-get install yangcli (make test installs it)")
    path = tmp_path / "script"
    path.write_text(script)
    command = "yangcli --server=127.0.0.1 --ncport=%d --batch-mode --run-script=%s %s" % (
        port, path, " ".join(auth))
    proc = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                          text=True, timeout=90, cwd=tmp_path, env=dict(os.environ, HOME=str(tmp_path)))
    return proc.stdout


def test_yangcli_built_in_server(sshd, box, tmp_path):
    out = yangcli(sshd, "\n".join([
        "merge /system/hostname value=yangcli-host",
        "create /system/logging/remote -- host=192.0.2.99",
        "commit",
        "xget /system/logging",
        "sget /system/hostname",
        "get-config source=running",
        "create /system/logging/remote -- host=192.0.2.99",
        ""]), tmp_path, "--user=admin", "--password=%s" % ADMIN_PW)
    assert "NETCONF session established" in out, out
    assert "Getting yang-library module set" in out and "Checking Server Modules" in out
    # yangcli checks replies against the modules: the `$9$` secret tokens of get-config
    # must match sip-secret's pattern and length too
    assert "invalid reply" not in out and "$9$2$" in out, out
    assert "remote 192.0.2.99" in out and "hostname yangcli-host" in out
    assert "error-tag data-exists" in out and "/bsys:system/bsys:logging/bsys:remote" in out
    running = box.show()
    assert "system hostname yangcli-host" in running and "192.0.2.99" in running


def test_yangcli_through_openssh(openssh, box, tmp_path):
    out = yangcli(openssh, "merge /system/timezone value=UTC\ncommit\nsget /system/timezone\n",
                  tmp_path, "--user=root", "--public-key=%s.pub" % box.key,
                  "--private-key=%s" % box.key)
    assert "NETCONF session established" in out, out
    assert "timezone UTC" in out
    assert "system timezone UTC" in box.show()


def console(port, *args, stdin=None, login=("-u", "admin", "-p", ADMIN_PW)):
    argv = [sys.executable, "-c", "from netconf_console.ncc import main; main()",
            "--host", "127.0.0.1", "--port", str(port)] + list(login) + list(args)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, input=stdin)
    return proc.stdout + proc.stderr


def test_netconf_console2(sshd, box, tmp_path):
    edit = tmp_path / "edit.xml"
    edit.write_text('<system xmlns="%s"><hostname>console2-host</hostname></system>' % SYS)
    out = console(sshd, "--db", "candidate", "--lock", "--edit-config=%s" % edit,
                  "--validate", "candidate", "--commit", "--unlock")
    assert out.count("<ok") == 5 and "rpc-error" not in out, out
    out = console(sshd, "--get-config", "-x", "/system/hostname")
    assert "<hostname>console2-host</hostname>" in out
    out = console(sshd, "--get-schema", "besip-system")
    assert "module besip-system {" in out
    out = console(sshd, "--get", "-x", "/modules-state/module[name='besip-pbx']")
    assert "<name>besip-pbx</name>" in out and "<name>besip-system</name>" not in out
    edit.write_text('<system xmlns="%s"><hostname>bad_host!</hostname></system>' % SYS)
    out = console(sshd, "--db", "candidate", "--edit-config=%s" % edit)
    assert "<error-tag>invalid-value</error-tag>" in out
    assert "system hostname console2-host" in box.show()


def test_netconf_console2_through_openssh(openssh, box, tmp_path):
    edit = tmp_path / "edit.xml"
    edit.write_text('<system xmlns="%s"><hostname>console2-ssh</hostname></system>' % SYS)
    config = tmp_path / "ssh_config"                 # no default password: key only
    config.write_text("Host 127.0.0.1\n  User root\n")
    login = ("-u", "root", "--privKeyFile", box.key, "--ssh-config", str(config))
    out = console(openssh, "--db", "candidate", "--edit-config=%s" % edit, "--commit", login=login)
    assert out.count("<ok") == 2 and "rpc-error" not in out, out
    out = console(openssh, "--get-config", "-x", "/system/hostname", login=login)
    assert "<hostname>console2-ssh</hostname>" in out
    assert "system hostname console2-ssh" in box.show()
