"""The shell as an IOS-XR, Junos or ConfD user expects it (issue 9), in a real
pseudo-terminal read through a terminal emulator: confirmations before sweeping deletes,
Ctrl-C during a commit, exec commands in configuration mode, help, pipes and paging."""

import os

import pytest

from test_shell import shell  # noqa: F401  (the fixture)

CTRL_C, CTRL_D, CTRL_U = "\x03", "\x04", "\x15"


def asked(term, line, question):
    """Run LINE and wait for the QUESTION (a regular expression) it asks."""
    term.wait_prompt()
    term.type(line)
    term.send("\r")
    term.wait_cursor_line(question)


def test_sweeping_no_asks_first_in_the_shell_only(office, shell):
    term = shell(office)
    term.command("configure")
    asked(term, "no pbx", r"Delete pbx \(2 listens, 3 extensions, 1 trunk, 3 routes\)\? \[yes/no\] \(no\):")
    term.send("\r")                                           # the default: no
    term.wait_prompt()
    assert "% Nothing was deleted." in term.text()
    assert "pbx extension 100" in "\n".join(term.command("show | display set"))
    asked(term, "no system", r"Delete system \(2 users\)\? \[yes/no\] \(no\):")
    term.send("n\r")
    term.wait_prompt()
    assert term.command("no pbx extension 100") == []          # one entry: no question
    asked(term, "no pbx", r"Delete pbx \(2 listens, 2 extensions, 1 trunk, 3 routes\)\? .*")
    term.send("yes\r")
    term.wait_prompt()
    assert term.command("show pbx") == ["% No entries found."]
    term.command("abort")
    # scripts never ask
    office.config("no pbx", "commit")
    assert "pbx extension" not in office.show()


def test_ctrl_c_during_a_commit_says_what_happened(office, shell, tmp_path):
    started = tmp_path / "reload-started"
    with open(os.path.join(office.directory, "services.toml"), "w") as handle:
        handle.write('[uci_system]\nreload = "touch %s; sleep 2"\n' % started)
    term = shell(office)
    term.command("configure")
    term.command("system hostname slow-pbx")
    term.type("commit")
    term.send("\r")
    term.wait(started.exists, "the reload to start")
    term.send(CTRL_C)
    term.wait_text(r"^% The commit cannot be interrupted: it completes or fails as a whole\.")
    assert term.wait_prompt() == "slow-pbx(config)#"
    shown = term.text()
    assert "Commit complete." in shown
    assert "% Ctrl-C came during the commit; running is now commit" in shown
    assert "the candidate has no uncommitted changes" in shown
    assert office.show("show running-config system hostname") == "system hostname slow-pbx\n"


def test_exec_shows_work_in_configuration_mode(office, shell):
    term = shell(office)
    term.command("configure")
    term.command("system hostname draft-pbx")
    assert term.command("sh run sys host") == ["system hostname office-pbx"]     # running
    assert term.command("show sys host") == ["system hostname draft-pbx"]        # candidate
    assert term.command("show version")[0].startswith("BESIP ")
    assert "show version" in "\n".join(term.command("show history"))
    term.command("pbx extension 101")
    assert term.command("show full-configuration system hostname") == ["system hostname draft-pbx"]
    assert term.command("show running-config system hostname | include host") == \
        ["system hostname office-pbx"]
    term.send("show ?")                                   # help lists what Enter accepts
    term.wait_text(r"^  running-config +The running configuration")
    assert "  full-configuration " in term.text() and "  display-name " in term.text()
    term.send(CTRL_U + "top\r")
    term.wait_prompt()
    term.send("show pbx ?")
    term.wait_text(r"^  registrations +Phones registered")
    assert "  extension " in term.text()
    term.send(CTRL_U + "show running-config | ?")          # no `compare` for running
    term.wait_text(r"^  include ")
    assert "  compare" not in term.text().split("show running-config | ?")[-1]
    term.send(CTRL_U)
    assert term.command("show running-config | compare")[-1] == "% Invalid input detected at '^' marker."
    term.command("abort")


def test_show_configuration_help_save_and_details(office, shell, tmp_path):
    term = shell(office)
    term.command("configure shared")                     # edits left in the shared candidate
    term.command("system hostname draft-pbx")
    term.type("end")
    term.send("\r")
    term.wait_cursor_line(r"Uncommitted changes found, commit them before exiting.*")
    term.send("no\r")
    assert term.command("show configuration system hostname") == ["system hostname draft-pbx"]
    assert term.command("show running-config system hostname") == ["system hostname office-pbx"]
    out = term.command("help")
    assert out[0].startswith("Type ? for the words") and "  configure   Enter configuration mode" in out
    saved = tmp_path / "pbx.txt"
    os.symlink(tmp_path, "/tmp/besip-%d" % os.getpid())      # short enough for one screen line
    saved = "/tmp/besip-%d/pbx.txt" % os.getpid()
    assert term.command("show running-config pbx trunk | save %s" % saved) == \
        ["Saved %d lines to %s" % (len(office.show("show running-config pbx trunk").splitlines()), saved)]
    os.unlink(os.path.dirname(saved))
    saved = tmp_path / "pbx.txt"
    assert oct(os.stat(saved).st_mode & 0o777) == "0o600"
    assert saved.read_text() == office.show("show running-config pbx trunk")
    assert term.command("show running-config pbx trunk | save f.txt | count")[-2:] == [\
        "% Invalid input detected at '^' marker.", "% 'save' must be the last modifier"]
    term.send("show running-config | save f.txt | ?")          # help agrees: nothing after save
    term.wait_text(r"% Invalid input detected at '\^' marker\.\n.*# show running-config \| save f.txt \|$")
    term.send(CTRL_U)
    assert term.command("show running-config pbx trunk nosuch") == ["% No entries found."]
    assert term.command("show running-config system | include ntp|services")[1:] == []
    details = term.command("show running-config system | details | include ntp|services")
    assert "system ntp enabled true" in details and "system services ssh port 22" in details
    assert term.command("show users | details") == ["% 'details' applies to configuration output only."]
    term.command("configure shared")
    out = term.command("show full-configuration system hostname")
    assert out == ["system hostname draft-pbx"]
    assert "  commit      Make the candidate configuration running" in term.command("help")
    term.command("abort")


def test_version_option(besip):
    import subprocess
    import sys
    from besip_cli import __version__
    proc = subprocess.run([sys.executable, "-m", "besip_cli", "--version"], capture_output=True,
                          text=True, env=besip.env, timeout=30)
    assert (proc.returncode, proc.stdout) == (0, "besip %s\n" % __version__)


@pytest.fixture
def crowded(besip):
    """A data directory with 10,003 extensions."""
    from besip_cli.datastore.session import Session
    session = Session(besip.directory)
    session.replace_candidate({"pbx": {"extension": {
        str(n): {"number": str(n), "secret": "Secret-%d" % n} for n in range(10000, 20003)}}})
    session.commit("crowded")
    session.close()
    return besip


def test_long_help_and_completion_lists_are_paged(crowded, shell):
    term = shell(crowded, rows=30)
    term.command("configure")
    term.send("pbx extension ?")
    term.wait_cursor_line(r" --More--")
    assert "  10000" in term.text() and "  19999" not in term.text()
    term.send("q")
    term.wait_cursor_line(r"besip\(config\)# pbx extension")
    term.send("\t")                                        # Tab: paged too, no y/n question
    term.wait_cursor_line(r" --More--")
    term.send("q100")                                      # typed on at once: nothing leaks
    term.wait_cursor_line(r"besip\(config\)# pbx extension 100")
    assert "Display all" not in term.text()
    term.send(CTRL_C)                                      # a fresh, empty line
    term.wait_prompt()
    term.type("pbx extension 1999")
    term.send("\t")
    term.wait_text(r"^19990 +19991")
    term.send(CTRL_C)
    term.wait_prompt()
    for _ in range(10):                                    # Ctrl-C as the list ends: never fatal
        term.send("pbx extension 1999\t" + CTRL_C)
    term.wait_prompt()
    assert term.command("show configuration system hostname") == ["% No entries found."]
    term.command("do terminal width 40")
    term.send("pbx ?")
    term.wait_text(r"^  extension +Phone extension: a SIP\n {13}account")
    help_shown = term.text().split("besip(config)# pbx ?\n")[-1].splitlines()
    assert len(help_shown) > 8 and all(len(line) <= 40 for line in help_shown)


def zombies(pid):
    """Ended children of PID that nobody has waited for."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] == "Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def test_pastes_join_history_ctrl_d_leaves_quietly_and_timers_are_reaped(office, shell):
    term = shell(office)
    term.command("configure")
    term.send("\x1b[200~pbx extension 100 display-name Pasted\npbx extension 101 display-name Too\n\x1b[201~")
    term.wait_pasted("display-name Too")
    term.send("\x1b[A")                                     # Up: the last pasted line
    term.wait_cursor_line(r"office-pbx\(config\)# pbx extension 101 display-name Too")
    term.send("\x1b[A")
    term.wait_cursor_line(r"office-pbx\(config\)# pbx extension 100 display-name Pasted")
    term.send(CTRL_U)
    assert term.command("commit confirmed 1s")[-1] == "Commit complete."
    def rolled_back():
        shown = office("show running-config pbx extension 100")      # fails while it reverts
        return shown.returncode == 0 and "Pasted" not in shown.stdout
    term.wait(rolled_back, "the confirmed commit to be rolled back", timeout=30)
    term.wait(lambda: not zombies(term.child.pid), "the shell to reap its timer", timeout=5)
    term.command("abort")
    term.command("configure")
    term.wait_prompt()
    term.send(CTRL_D)                                       # Ctrl-D: end, without ^Z
    term.wait_cursor_line(r"office-pbx#")
    assert "^Z" not in term.text()
