"""Sessions of different front-ends on one datastore: a NETCONF session (ncclient over the
built-in SSH server) against `besip -c` scripts and the shell, with the rules kept by the
datastore for all of them."""

import sys

from ncclient.operations import RPCError

from netconf_fixtures import box, connect, sshd  # noqa: F401
from terminal import Terminal

SYS = "urn:besip:params:xml:ns:yang:besip-system"


def cfg(body):
    return ('<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><system xmlns="%s">%s'
            '</system></config>' % (SYS, body))


def hostname(m):
    flt = '<system xmlns="%s"><hostname/></system>' % SYS
    return m.get_config("running", filter=("subtree", flt)).data.findtext(".//{%s}hostname" % SYS)


def test_another_sessions_commit_does_not_confirm_a_netconf_confirmed_commit(sshd, box):
    """RFC 6241 8.4: without a persist id only the session that made the confirmed commit
    confirms it; a script's plain commit is refused and the commit stays pending."""
    box.config("system hostname before-confirm", "commit")
    with connect(sshd) as m:
        m.edit_config(target="candidate", config=cfg("<hostname>on-trial</hostname>"))
        m.commit(confirmed=True, timeout="120")
        proc = box("configure", "system hostname from-script", "commit")
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert "% confirmed commit" in out and "netconf session %d" % int(m.session_id) in out, out
        assert "only that session may confirm it" in out
        assert "from-script" not in box.show()
        m.cancel_commit()                        # still pending: cancelling reverts it
        assert hostname(m) == "before-confirm"


def test_netconf_commit_does_not_confirm_another_netconf_sessions_confirmed_commit(sshd, box):
    with connect(sshd) as a, connect(sshd) as b:
        a.edit_config(target="candidate", config=cfg("<hostname>a-trial</hostname>"))
        a.commit(confirmed=True, timeout="120")
        try:
            b.commit()
        except RPCError as exc:
            assert exc.tag == "in-use" and "session %s" % a.session_id in exc.message
        else:
            raise AssertionError("session b confirmed session a's confirmed commit")
        a.commit()                               # the owner confirms
        assert hostname(b) == "a-trial"


def test_confirming_a_confirmed_commit_in_the_shell_says_commit_complete(besip):
    besip.config("system hostname base", "commit")
    same = besip.config("system hostname trial", "commit confirmed 60s", "commit").stdout
    assert same.endswith("Commit complete.\n") and "No modifications" not in same, same
    assert "confirmed-pending" not in besip.show("show configuration commit list")
    besip.config("system hostname trial-2", "commit confirmed 60s")
    later = besip.config("commit").stdout              # a later script confirms it
    assert later == "Commit complete.\n", later
    assert "confirmed-pending" not in besip.show("show configuration commit list")


def test_commit_check_runs_the_services_verify_step(office):
    """`commit check` refuses what `commit` refuses (the services' verify), writing nothing."""
    for edit, reason in (("pbx route bad pattern 0[1- extension 100", "dial pattern '0[1-' is malformed"),
                         ("pbx sip listen 127.0.0.1 5061 tls", "TLS needs a certificate")):
        checked = office("configure", edit, "commit check")
        assert checked.returncode != 0, checked.stdout
        assert "% Validation failed: " in checked.stderr and reason in checked.stderr, checked.stderr
        committed = office("configure", edit, "commit")
        assert committed.returncode != 0 and reason in committed.stderr, committed.stderr
    assert "Validation complete" in office("configure", "system hostname fine", "commit check",
                                           check=0).stdout


def test_configure_says_at_once_that_netconf_holds_a_lock(sshd, box, env):
    term = Terminal([sys.executable, "-m", "besip_cli", "--datastore", box.directory],
                    dict(env, TERM="xterm-256color"))
    try:
        with connect(sshd) as m:
            m.lock("candidate")
            shown = "\n".join(term.command("configure"))
            locked = "%% The candidate configuration is locked by admin (netconf session %s" % m.session_id
            assert locked in shown, shown
            assert not term.wait_prompt().endswith("(config)#")
            m.unlock("candidate")
            m.lock("running")
            shown = "\n".join(term.command("configure"))
            assert "% Warning: the running configuration is locked by admin (netconf session" \
                   in shown, shown
            assert term.wait_prompt().endswith("(config)#")
            term.command("end")
            m.unlock("running")
    finally:
        term.close()
