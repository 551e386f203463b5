"""`besip-netconf` run on the box itself (stdio, no SSH) by the owner of the data directory
gets the console-owner rule of the shell: admin even when other users are configured;
the same program under OpenSSH (SSH_CONNECTION set) does not."""

import os
import pwd
import subprocess
import sys

from conftest import ROOT

HELLO = ('<?xml version="1.0"?><hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
         '<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>')
EDIT = ('<rpc message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><edit-config><target>'
        '<candidate/></target><config><system xmlns="urn:besip:params:xml:ns:yang:besip-system">'
        '<hostname>local-nc</hostname></system></config></edit-config></rpc>]]>]]>'
        '<rpc message-id="2" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><commit/></rpc>]]>]]>'
        '<rpc message-id="3" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><close-session/></rpc>]]>]]>')


def netconf(besip, env, **extra):
    environment = {k: v for k, v in env.items() if k != "SSH_CONNECTION"}
    environment.update(PYTHONPATH=ROOT, USER=pwd.getpwuid(os.getuid()).pw_name, **extra)
    proc = subprocess.run([sys.executable, "-m", "besip_cli.netconf.stdio", "--datastore", besip.directory],
                          input=HELLO + EDIT, capture_output=True, text=True, env=environment, timeout=60)
    return proc.stdout


def test_local_besip_netconf_is_treated_as_the_console(tmp_path, env):
    from conftest import Besip
    besip = Besip(tmp_path / "data", env)
    besip.config("system user admin role admin password Adm1n-pass-1", "commit")
    assert os.stat(besip.directory).st_uid == os.getuid()
    out = netconf(besip, env, SSH_CONNECTION="127.0.0.1 40000 127.0.0.1 22")
    assert out.count("access-denied") == 2 and "local-nc" not in besip.show()
    out = netconf(besip, env)
    assert "rpc-error" not in out and out.count("<ok/>") == 3, out
    assert "hostname local-nc" in besip.show()
