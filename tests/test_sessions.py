"""Sessions of different front-ends on one datastore: a NETCONF session (ncclient over the
built-in SSH server) against `besip -c` scripts and the shell, with the rules kept by the
datastore for all of them."""

import contextlib
import re
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
    """A lock is announced by `configure` itself: the shared candidate locked refuses
    `configure shared`; a private candidate may be edited, and the warning says commits
    are refused."""
    with shell_on(box, env) as term:
        with connect(sshd) as m:
            m.lock("candidate")
            shown = "\n".join(term.command("configure shared"))
            locked = "%% The candidate configuration is locked by admin (netconf session %s" % m.session_id
            assert locked in shown, shown
            assert not term.wait_prompt().endswith("(config)#")
            shown = "\n".join(term.command("configure"))
            assert "% Warning: the candidate configuration is locked by admin (netconf session" \
                   in shown, shown
            assert term.wait_prompt().endswith("(config)#")
            term.command("end")
            m.unlock("candidate")
            m.lock("running")
            shown = "\n".join(term.command("configure"))
            assert "% Warning: the running configuration is locked by admin (netconf session" \
                   in shown, shown
            assert term.wait_prompt().endswith("(config)#")
            term.command("end")
            m.unlock("running")


EXT = "urn:besip:params:xml:ns:yang:besip-pbx"


@contextlib.contextmanager
def shell_on(box, env):
    """The interactive shell on BOX's datastore, in a pty, at its first prompt."""
    term = Terminal([sys.executable, "-m", "besip_cli", "--datastore", box.directory],
                    dict(env, TERM="xterm-256color"))
    try:
        term.wait_prompt()
        yield term
    finally:
        term.close()


def display_name(box, number):
    shown = box.show("show running-config pbx extension %s display-name" % number)
    found = re.search(r'display-name "?([^"\n]*)', shown)
    return found and found.group(1)


def test_a_shells_edits_are_its_own_until_it_commits(sshd, box, env):
    """Private candidates: a script's commit, a NETCONF commit and another session's abort
    neither publish nor wipe a shell's half-done edit; the shell's commit then merges its
    change with theirs."""
    with shell_on(box, env) as term:
        term.command("configure")
        term.command("pbx extension 100 display-name Half-Done")
        box.config("pbx extension 101 display-name From-Script", "commit")
        box.config("pbx extension 102 display-name Dropped", "abort")
        with connect(sshd) as m:
            m.edit_config(target="candidate", config=(
                '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><pbx xmlns="%s">'
                '<extension><number>102</number><display-name>From-Netconf</display-name>'
                '</extension></pbx></config>' % EXT))
            m.commit()
            m.discard_changes()
        assert display_name(box, 100) != "Half-Done"
        assert display_name(box, 101) == "From-Script" and display_name(box, 102) == "From-Netconf"
        assert "display-name Half-Done" in "\n".join(term.command("show pbx extension 100"))
        compare = "\n".join(term.command("show | compare"))
        assert "+ display-name Half-Done" in compare and "From-Script" not in compare, compare
        assert term.command("commit")[-1] == "Commit complete."
        assert display_name(box, 100) == "Half-Done"
        assert display_name(box, 101) == "From-Script" and display_name(box, 102) == "From-Netconf"
        term.command("end")


def test_a_commit_that_overlaps_another_is_refused_naming_the_path(box, env):
    with shell_on(box, env) as term:
        term.command("configure")
        term.command("pbx extension 100 display-name Mine")
        term.command("pbx extension 101 display-name Also-Mine")
        box.config("pbx extension 100 display-name Theirs", "commit")
        shown = "\n".join(term.command("commit"))
        assert "% commit refused: running changed since you started editing, and both changed " \
               "pbx extension 100 display-name" in shown, shown
        assert display_name(box, 100) == "Theirs" and display_name(box, 101) != "Also-Mine"
        shown = "\n".join(term.command("update"))
        assert "% Your change was dropped for running's: pbx extension 100 display-name" in shown
        assert term.command("commit")[-1] == "Commit complete."
        assert display_name(box, 100) == "Theirs" and display_name(box, 101) == "Also-Mine"
        term.command("end")


def test_a_script_without_commit_leaves_nothing_behind(sshd, box):
    proc = box("configure", "system hostname never-committed", check=0)
    assert "% Uncommitted changes were discarded: the script ended in configuration mode " \
           "without 'commit'." in proc.stderr
    with connect(sshd) as m:
        m.commit()                                   # the shared candidate holds nothing of it
        got = m.get_config("candidate", filter=("subtree", '<system xmlns="%s"/>' % SYS))
        assert "never-committed" not in got.data_xml
    assert "never-committed" not in box.show()


def test_the_shared_candidate_keeps_its_edits_and_takes_other_commits(sshd, box):
    """A NETCONF client's uncommitted edit survives a shell commit, and the NETCONF commit
    that follows does not undo the shell's commit."""
    with connect(sshd) as m:
        m.edit_config(target="candidate", config=cfg("<timezone>Africa/Nairobi</timezone>"))
        box.config("pbx extension 101 display-name Shell-Commit", "commit")
        assert "Africa/Nairobi" not in box.show("show running-config system timezone")
        m.commit()
        assert "Africa/Nairobi" in box.show("show running-config system timezone")
    assert display_name(box, 101) == "Shell-Commit"


def test_configure_shared_edits_the_netconf_candidate(sshd, box):
    with connect(sshd) as m:
        proc = box("configure shared", "system timezone Asia/Tokyo", check=0)
        assert "discarded" not in proc.stderr
        got = m.get_config("candidate", filter=("subtree", '<system xmlns="%s"/>' % SYS)).data_xml
        assert "Asia/Tokyo" in got
        m.discard_changes()


def test_a_confirmed_commit_reverted_is_announced_at_an_idle_prompt(box, env):
    with shell_on(box, env) as term:
        term.command("configure")
        term.command("system timezone America/Chicago")
        shown = term.command("commit confirmed 3s")
        assert shown[0].startswith("Commit confirmed: it will be rolled back in 3 seconds")
        term.command("end")
        commit_id = int(re.match(r"0 +(\d+) ", term.command("show configuration commit list")[1])
                        .group(1))
        term.wait_text(r"^%% Commit %d was not confirmed in time: the configuration was rolled "
                       r"back \(commit %d\)\.$" % (commit_id, commit_id + 1), timeout=20)
        assert term.wait_prompt().endswith("#")                  # the prompt is drawn again
        assert "America/Chicago" not in box.show("show running-config system timezone")


def test_starting_besip_while_a_revert_holds_the_commit_lock_works(besip):
    """A besip started when an expired confirmed commit is being reverted by another
    process (here: the commit lock held) shows the configuration instead of failing."""
    import fcntl
    import os
    import time
    besip.config("system hostname base", "commit")
    besip.config("system hostname trial", "commit confirmed 1s")
    with open(os.path.join(besip.directory, "commit.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        time.sleep(1.5)                                   # expired, the revert cannot start
        proc = besip("show running-config system hostname", check=0)
        assert "system hostname" in proc.stdout
    deadline = time.time() + 20
    while "trial" in besip.show("show running-config system hostname") and time.time() < deadline:
        time.sleep(0.2)
    assert besip.show("show running-config system hostname") == "system hostname base\n"
