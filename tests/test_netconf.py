"""NETCONF through real clients (ncclient) over the built-in SSH server and OpenSSH."""

import time

import pytest
from ncclient.operations import RPCError

from netconf_fixtures import ADMIN_PW, OPER_PW, box, connect, openssh, sshd  # noqa: F401

SYS = "urn:besip:params:xml:ns:yang:besip-system"
PBX = "urn:besip:params:xml:ns:yang:besip-pbx"


def cfg(body, ns=SYS, top="system"):
    return ('<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><%s xmlns="%s">%s</%s></config>'
            % (top, ns, body, top))


def error_of(call, *args, **kwargs):
    with pytest.raises(RPCError) as info:
        call(*args, **kwargs)
    return info.value


def hostname(m, source="running"):
    flt = '<system xmlns="%s"><hostname/></system>' % SYS
    return m.get_config(source, filter=("subtree", flt)).data.findtext(".//{%s}hostname" % SYS)


def test_edit_commit_and_get_config(sshd, box):
    with connect(sshd) as m:
        assert ":candidate" in " ".join(m.server_capabilities)
        m.edit_config(target="candidate", config=cfg("<hostname>nc-one</hostname>"))
        assert hostname(m, "candidate") == "nc-one"
        assert hostname(m) != "nc-one"
        m.commit()
        assert hostname(m) == "nc-one"
    assert "system hostname nc-one" in box.show()


def test_shell_commit_seen_by_netconf_and_locks_shared(sshd, box):
    box.config("system hostname from-shell", "commit")
    with connect(sshd) as m:
        assert hostname(m) == "from-shell"
        m.lock("candidate")
        proc = box("configure", "system hostname blocked", "commit")
        assert proc.returncode != 0 and "locked by admin (netconf session" in proc.stdout + proc.stderr
        m.unlock("candidate")
    assert "from-shell" in box.show()


def test_edit_errors_have_netconf_tags(sshd):
    with connect(sshd) as m:
        err = error_of(m.edit_config, target="candidate",
                       config=cfg('<hostname>bad_name!</hostname>'))
        assert err.tag == "invalid-value" and "hostname" in err.message
        assert err.path.startswith("/") and "hostname" in err.path
        err = error_of(m.edit_config, target="candidate", config=cfg("<nosuch>1</nosuch>"))
        assert err.tag == "unknown-element"
        err = error_of(m.edit_config, target="candidate",
                       config=cfg('<logging><remote xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" '
                                  'nc:operation="delete"><host>198.51.100.9</host></remote></logging>'))
        assert err.tag == "data-missing"
        m.edit_config(target="candidate", config=cfg(
            '<user xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="create">'
            '<name>newbie</name><role>monitor</role><password>Newb-pass-123</password></user>'))
        err = error_of(m.edit_config, target="candidate", config=cfg(
            '<user xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="create">'
            '<name>newbie</name><role>monitor</role></user>'))
        assert err.tag == "data-exists"
        err = error_of(m.edit_config, target="candidate", config=cfg("<user><role>admin</role></user>"))
        assert err.tag == "missing-element"
        err = error_of(m.edit_config, target="running", config=cfg("<hostname>x</hostname>"))
        assert err.tag == "operation-not-supported"
        m.discard_changes()
        assert "newbie" not in m.get_config("candidate").data_xml


def test_error_options_and_test_only(sshd):
    with connect(sshd) as m:
        two = cfg("<hostname>good-name</hostname><timezone>Europe/Prague</timezone><nosuch/>")
        error_of(m.edit_config, target="candidate", config=two, error_option="rollback-on-error")
        assert hostname(m, "candidate") != "good-name"
        error_of(m.edit_config, target="candidate", config=two, error_option="continue-on-error")
        assert hostname(m, "candidate") == "good-name"
        m.discard_changes()
        m.edit_config(target="candidate", config=cfg("<hostname>tested</hostname>"), test_option="test-only")
        assert hostname(m, "candidate") != "tested"


def test_replace_remove_and_default_operation(sshd):
    with connect(sshd) as m:
        ns = 'xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"'
        m.edit_config(target="candidate", config=cfg(
            '<dns nc:operation="replace" %s><server>192.0.2.53</server></dns>' % ns))
        servers = m.get_config("candidate", filter=("subtree", '<system xmlns="%s"><dns/></system>' % SYS))
        assert [e.text for e in servers.data.iter("{%s}server" % SYS)] == ["192.0.2.53"]
        m.edit_config(target="candidate", config=cfg('<dns nc:operation="remove" %s/>' % ns))
        m.edit_config(target="candidate", config=cfg('<dns nc:operation="remove" %s/>' % ns))
        assert "<dns" not in m.get_config("candidate").data_xml
        m.edit_config(target="candidate", default_operation="none",
                      config=cfg('<hostname nc:operation="merge" %s>only-this</hostname>' % ns))
        assert hostname(m, "candidate") == "only-this"
        m.discard_changes()


def test_secrets_are_tokens_and_load_back(sshd):
    with connect(sshd) as m:
        xml = m.get_config("running").data_xml
        assert "$9$" in xml and "Xk9-strong-1" not in xml
        flt = '<pbx xmlns="%s"><extension><number>100</number><secret/></extension></pbx>' % PBX
        token = m.get_config("running", filter=("subtree", flt)).data.findtext(".//{%s}secret" % PBX)
        assert token.startswith("$9$")
        m.edit_config(target="candidate", config=cfg(
            "<extension><number>100</number><secret>%s</secret></extension>" % token, PBX, "pbx"))
        assert m.get_config("candidate").data_xml == m.get_config("running").data_xml


def test_filters_xpath_and_with_defaults(sshd):
    with connect(sshd) as m:
        flt = '<pbx xmlns="%s"><extension><number>101</number></extension></pbx>' % PBX
        data = m.get_config("running", filter=("subtree", flt)).data
        assert [e.text for e in data.iter("{%s}number" % PBX)] == ["101"]
        assert data.find(".//{%s}display-name" % PBX) is not None
        res = m.get_config("running", filter=("xpath", ({"p": PBX},
                                                        "/p:pbx/p:extension[p:number='102']/p:display-name"))).data
        assert [e.text for e in res.iter("{%s}number" % PBX)] == ["102"]
        assert len(list(res.iter("{%s}display-name" % PBX))) == 1
        assert res.find(".//{%s}secret" % PBX) is None
        plain = m.get_config("running").data_xml
        full = m.get_config("running", with_defaults="report-all").data_xml
        assert len(full) > len(plain)
        err = error_of(m.get_config, "running", filter=("xpath", "/p:pbx[["))
        assert err.tag == "invalid-value"


def test_get_has_monitoring_and_schemas(sshd):
    with connect(sshd) as m:
        state = m.get(filter=("subtree", '<netconf-state xmlns="urn:ietf:params:xml:ns:yang:'
                                         'ietf-netconf-monitoring"><schemas/></netconf-state>')).data_xml
        assert "besip-pbx" in state and "ietf-inet-types" in state
        lib = m.get(filter=("subtree", '<modules-state xmlns="urn:ietf:params:xml:ns:yang:'
                                       'ietf-yang-library"/>')).data_xml
        assert "besip-system" in lib and "module-set-id" in lib
        text = m.get_schema("besip-pbx").data
        assert text.lstrip().startswith("module besip-pbx")
        assert "module ietf-inet-types" in m.get_schema("ietf-inet-types").data
        assert error_of(m.get_schema, "no-such-module").tag == "invalid-value"


def test_locks_between_sessions(sshd):
    with connect(sshd) as a, connect(sshd) as b:
        a.lock("running")
        err = error_of(b.lock, "running")
        assert err.tag == "lock-denied" and err.info and str(a.session_id) in err.info
        b.edit_config(target="candidate", config=cfg("<hostname>by-b</hostname>"))
        assert error_of(b.commit).tag == "in-use"
        b.discard_changes()
        a.unlock("running")
        b.edit_config(target="candidate", config=cfg("<hostname>dirty</hostname>"))
        assert error_of(a.lock, "candidate").tag == "resource-denied"
        b.discard_changes()
        a.lock("candidate")
        assert error_of(b.edit_config, target="candidate", config=cfg("<hostname>x</hostname>")).tag == "in-use"
    with connect(sshd) as c:                       # a's lock died with its session
        c.lock("candidate")
        c.unlock("candidate")


def test_validate_commit_problems_and_copy_delete_config(sshd):
    with connect(sshd) as m:
        m.validate("candidate")
        m.edit_config(target="candidate", config=cfg(
            "<user><name>nokey</name><role>monitor</role></user>"))
        err = error_of(m.validate, "candidate")
        assert err.tag == "operation-failed" and "password or" in err.message
        assert error_of(m.commit).tag == "operation-failed"
        m.copy_config(source="running", target="candidate")
        assert "nokey" not in m.get_config("candidate").data_xml
        assert error_of(m.delete_config, "running").tag == "operation-failed"


def test_confirmed_commit_cancel_and_session_end(sshd):
    with connect(sshd) as m:
        before = hostname(m)
        m.edit_config(target="candidate", config=cfg("<hostname>confirm-me</hostname>"))
        m.commit(confirmed=True, timeout="120")
        assert hostname(m) == "confirm-me"
        m.cancel_commit()
        assert hostname(m) == before
        m.edit_config(target="candidate", config=cfg("<hostname>persisted</hostname>"))
        m.commit(confirmed=True, timeout="120", persist="p1")
    with connect(sshd) as m:                          # persist survives the session
        assert hostname(m) == "persisted"
        assert error_of(m.commit).tag == "invalid-value"
        m.commit(persist_id="p1")
        m.edit_config(target="candidate", config=cfg("<hostname>dies-with-session</hostname>"))
        m.commit(confirmed=True, timeout="120")
    with connect(sshd) as m:                          # not confirmed: reverted at session end
        assert hostname(m) == "persisted"


def test_kill_session_releases_lock(sshd):
    a = connect(sshd)
    with connect(sshd) as b:
        a.lock("candidate")
        b.kill_session(a.session_id)
        b.lock("candidate")
        b.unlock("candidate")
        assert error_of(b.kill_session, b.session_id).tag == "invalid-value"
    deadline = time.time() + 10
    while a.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not a.connected


def test_notifications_from_any_front_end(sshd, box):
    with connect(sshd) as m:
        m.create_subscription()
        box.config("system hostname notified", "commit")
        note = m.take_notification(timeout=10)
        assert note is not None and "netconf-config-change" in note.notification_xml
        assert "hostname" in note.notification_xml and "admin" not in note.notification_xml.split("username")[0]


def test_operator_gets_access_denied(sshd):
    with connect(sshd, "oper", OPER_PW) as m:
        assert hostname(m)
        for call in (lambda: m.edit_config(target="candidate", config=cfg("<hostname>x</hostname>")),
                     lambda: m.lock("candidate"), m.commit, m.discard_changes,
                     lambda: m.copy_config(source="running", target="candidate")):
            assert error_of(call).tag == "access-denied"


def test_public_key_and_bad_password(sshd, box):
    from ncclient.transport.errors import AuthenticationError
    with connect(sshd, "admin", None, key=box.key) as m:
        assert hostname(m)
    with pytest.raises(AuthenticationError):
        connect(sshd, "admin", "wrong-password")


def test_openssh_subsystem(openssh, box):
    with connect(openssh, "root", None, key=box.key) as m:
        m.edit_config(target="candidate", config=cfg("<hostname>via-openssh</hostname>"))
        m.commit()
        assert hostname(m) == "via-openssh"
        m.lock("candidate")
        proc = box("configure", "system hostname x", "commit")
        assert "locked by root (netconf session" in proc.stdout + proc.stderr
    assert "via-openssh" in box.show()


def test_fast_xml_text_equals_elementtree_encoding(box):
    import xml.etree.ElementTree as ET
    from besip_cli.datastore import codec
    from besip_cli.datastore.session import Session
    s = Session(box.directory, user="admin", client="test")
    try:
        tree = dict(s.running, system=dict(s.running["system"], hostname='a&b<"c">'))
        data = ET.Element("data")
        tree = s.concealed(tree)
        codec.to_xml(tree, s.schema, data)
        parsed = ET.fromstring("<data>%s</data>" % codec.to_xml_text(tree, s.schema))
        assert ET.tostring(parsed) == ET.tostring(ET.fromstring(ET.tostring(data)))
    finally:
        s.close()


def test_shell_channel_without_the_terminal_is_refused(sshd):
    import importlib.util
    import paramiko
    if importlib.util.find_spec("besip_cli.shell.terminal"):
        pytest.skip("the shell is installed: its own tests drive shell channels")
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", sshd, "admin", ADMIN_PW, look_for_keys=False, allow_agent=False)
    try:
        with pytest.raises(paramiko.SSHException):
            client.invoke_shell()
        chan = client.get_transport().open_session()
        with pytest.raises(paramiko.SSHException):
            chan.invoke_subsystem("sftp")
    finally:
        client.close()


def test_shell_lock_stops_netconf(sshd, box, env):
    import subprocess
    import sys
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom besip_cli.datastore.session import Session\n"
         "s = Session(sys.argv[1], user='alice', client='cli')\ns.lock('candidate')\n"
         "print('locked', flush=True)\nsys.stdin.read()\ns.close()", box.directory],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with connect(sshd) as m:
            err = error_of(m.lock, "candidate")
            assert err.tag == "lock-denied" and "alice (cli session" in err.message
            err = error_of(m.edit_config, target="candidate", config=cfg("<hostname>x</hostname>"))
            assert err.tag == "in-use" and "alice" in err.message
    finally:
        holder.stdin.close()
        holder.wait(10)


def test_confirmed_commit_times_out(sshd):
    with connect(sshd) as m:
        before = hostname(m)
        m.edit_config(target="candidate", config=cfg("<hostname>short-lived</hostname>"))
        m.commit(confirmed=True, timeout="2", persist="t1")
        assert hostname(m) == "short-lived"
        deadline = time.time() + 20
        while hostname(m) != before and time.time() < deadline:
            time.sleep(0.2)
        assert hostname(m) == before
        assert error_of(m.cancel_commit, persist_id="t1").tag == "operation-failed"


def test_kill_session_of_an_openssh_subsystem_process(openssh, box):
    a = connect(openssh, "root", None, key=box.key)
    with connect(openssh, "root", None, key=box.key) as b:
        a.lock("running")
        b.kill_session(a.session_id)
        b.lock("running")
        b.unlock("running")
    deadline = time.time() + 10
    while a.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not a.connected
