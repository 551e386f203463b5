"""The interactive shell in a real pseudo-terminal: help, completion, modes, the pager,
history, pasting, bad input and roles (what the user sees, through a terminal emulator)."""

import getpass
import os
import shutil
import sys

import pytest

from conftest import Besip
from terminal import Terminal

CTRL_C, CTRL_D, CTRL_U, CTRL_Z, CTRL_R = "\x03", "\x04", "\x15", "\x1a", "\x12"


@pytest.fixture
def shell(env):
    """Starts `besip` on a terminal for a Besip data directory; closes them all at the end."""
    started = []

    def start(besip, rows=100):
        term = Terminal([sys.executable, "-m", "besip_cli", "--datastore", besip.directory],
                        dict(env, TERM="xterm-256color"), rows=rows)
        started.append(term)
        return term
    yield start
    for term in started:
        term.close()


def test_question_mark_help_keeps_the_line(office, shell):
    term = shell(office)
    assert term.command("conf t") == []
    term.send("pbx ext?")
    term.wait_text(r"^  extension +Phone extension")
    term.wait_cursor_line(r"office-pbx\(config\)# pbx ext")       # the line is kept
    term.send("ension ?")
    term.wait_text(r"^  101 *$")
    assert "  <number>" in term.text() or "  <" in term.text()      # free values: a type hint
    term.send(CTRL_U + "pbx extension 100 secret ?")
    term.wait_text(r"^  <string, 8-64 chars> +SIP password")
    term.send(CTRL_U + "pbx extension 100 recording ?")
    term.wait_text(r"^  always ")
    assert "  never" in term.text()
    term.send(CTRL_U + "pbx route national trunk ?")                # a leafref: existing trunks
    term.wait_text(r"^  provider1")
    term.send(CTRL_U + "pbx extension 100 display-name x ?")
    term.wait_text(r"^  <cr>$")
    term.send(CTRL_U + "do show running-config pbx trunk ?")      # keys of running
    term.wait_text(r"^  provider1\n  <name> ")
    term.send(CTRL_U + "show | ?")
    term.wait_text(r"^  include +Only lines that match")
    assert "  compare " in term.text()
    term.send(CTRL_U + "pbx extenson ?")
    term.wait_text(r"^ {24}\^\n% Invalid input detected at '\^' marker\.")


def test_tab_completes_unique_prefixes_and_lists_choices(office, shell):
    term = shell(office)
    term.wait_prompt()
    term.type("conf")
    term.send("\t")
    term.wait_cursor_line(r"office-pbx# configure")
    term.send("t\t\r")
    term.wait_cursor_line(r"office-pbx\(config\)#")
    term.send("pb\tex\t10\t")                                   # keys: 100 101 102
    term.wait_text(r"^100 +101 +102")
    term.send("1 c\t")                                          # call-limit or codec
    term.wait_text(r"^call-limit +codec")
    term.send("o\t")
    term.wait_cursor_line(r"office-pbx\(config\)# pbx extension 101 codec")
    term.send("pcm\t")
    term.wait_text(r"^pcmu +pcma")


def test_carets_abbreviations_and_modes(office, shell):
    term = shell(office)
    assert term.command("sh run sys host") == ["system hostname office-pbx"]
    assert term.command("shw run") == [" " * len("office-pbx# ") + "^",
                                       "% Invalid input detected at '^' marker."]
    out = term.command("conf t")
    assert out == []
    out = term.command("pbx extension 100 call-limit 99")
    caret = " " * len("office-pbx(config)# pbx extension 100 call-limit ") + "^"
    assert out[0] == caret and out[1] == "% Invalid input detected at '^' marker."
    assert "call-limit" in out[2]
    assert term.command("s") == ['% Ambiguous command: "s"']
    assert term.command("pbx") == ["% Incomplete command."]
    term.command("pbx extension 101")
    assert term.wait_prompt() == "office-pbx(config-extension-101)#"
    term.command("exit")
    assert term.wait_prompt() == "office-pbx(config)#"
    term.command("pbx extension 101")
    term.command("system hostname branch-pbx")       # a top-level statement from a sub-mode
    term.command("top")
    assert term.command("do show running-config system hostname") == ["system hostname office-pbx"]
    term.command("commit")
    assert term.wait_prompt() == "branch-pbx(config)#"     # the prompt follows the commit
    term.type("system timezone UTC")
    term.send(CTRL_Z)                                       # runs the line, then ends
    term.wait_cursor_line(r"Uncommitted changes found, commit them before exiting.*")
    term.send("yes\r")
    term.wait_cursor_line(r"branch-pbx#")
    assert office.show("show running-config system timezone") == "system timezone UTC\n"


def test_leaving_with_uncommitted_changes_asks(office, shell):
    """IOS-XR's question: yes commits, no discards, cancel (the default, and `c`) stays;
    any other answer is asked again."""
    question = r"Uncommitted changes found, commit them before exiting \(yes/no/cancel\)\? \[cancel\]:"
    term = shell(office)
    term.command("configure")
    term.command("pbx extension 100 display-name Zed")
    term.type("end")
    term.send("\r")
    term.wait_cursor_line(question)
    term.send("c\r")                                          # cancel, never commit
    assert term.wait_prompt() == "office-pbx(config)#"
    term.type("end")
    term.send("\r")
    term.wait_cursor_line(question)
    term.send("commit\r")                                     # not an answer: asked again
    term.wait_text(r"% Please answer yes, no or cancel\.")
    term.wait_cursor_line(question)
    term.send("\r")                                           # the default: cancel
    assert term.wait_prompt() == "office-pbx(config)#"
    assert "Zed" not in office.show("show running-config pbx extension 100")
    term.send(CTRL_Z)
    term.wait_cursor_line(question)
    term.send("y\r")
    assert term.wait_prompt() == "office-pbx#"
    assert 'display-name Zed' in "\n".join(term.command("show running-config pbx extension 100"))
    term.command("conf t")
    term.command("pbx extension 100 display-name Temporary")
    term.type("exit")
    term.send("\r")
    term.wait_cursor_line(question)
    term.send("no\r")
    assert term.wait_prompt() == "office-pbx#"
    term.command("configure shared")                          # the shared candidate keeps them
    term.command("pbx extension 100 display-name Kept")
    term.type("end")
    term.send("\r")
    term.wait_text(r"The shared candidate has uncommitted changes \(by .*\); 'no' leaves them there")
    term.wait_cursor_line(question)
    term.send("n\r")
    assert term.wait_prompt() == "office-pbx#"
    assert "shared candidate has uncommitted changes" in "\n".join(term.command("show configuration sessions"))
    out = office.show("show running-config pbx extension 100")
    assert "Zed" in out and "Temporary" not in out and "Kept" not in out


def test_pager_and_terminal_length(office, shell):
    term = shell(office)
    term.command("terminal length 10")
    term.type("show running-config")
    term.send("\r")
    term.wait_cursor_line(r" --More--")
    first = term.text()
    assert first.count("\n") >= 9
    term.send(" ")
    term.wait(lambda: term.text() != first, "the next page")
    term.wait_cursor_line(r" --More--")
    term.send("q")
    term.wait_prompt()
    full = office.show()
    term.command("terminal length 0")
    assert term.command("show running-config") == full.splitlines()
    term.command("terminal length 5")
    assert term.command("show running-config | no-more") == full.splitlines()
    assert "% Invalid input detected at '^' marker." in term.command("terminal length 99999")
    term.command("configure")
    term.command("do terminal length 0")
    assert term.command("do show running-config") == full.splitlines()


def test_history_persists_per_user_and_ctrl_r_searches(office, shell):
    term = shell(office)
    term.command("show version")
    term.command("show running-config system hostname")
    assert term.command("show history")[-3:] == ["  show version", "  show running-config system hostname",
                                                 "  show history"]
    term.send(CTRL_D)
    assert term.wait_exit() == 0
    history = os.path.join(office.directory, "history", getpass.getuser())
    assert oct(os.stat(history).st_mode & 0o777) == "0o600"
    term = shell(office)
    term.wait_prompt()
    term.send("\x1b[A")                                       # Up: the last command of last time
    term.wait_cursor_line(r"office-pbx# show history")
    term.send(CTRL_U + CTRL_R + "vers")
    term.wait_text(r"show version")
    term.send("\r")                                           # Enter ends the search...
    term.wait_cursor_line(r"office-pbx# show version")
    term.send("\r")                                           # ...and runs the line
    term.wait_text(r"^BESIP \d")


def test_pasted_running_config_rebuilds_the_configuration(office, shell, tmp_path, env):
    text = office.show()
    copy = Besip(tmp_path / "copy", env)
    os.makedirs(copy.directory)
    shutil.copy(os.path.join(office.directory, "secret.key"), copy.directory)
    copy("show version", check=0)
    term = shell(copy)
    term.command("configure")
    term.send(text.replace("\n", "\r"))                           # typed as fast as a paste
    term.wait_cursor_line(r"besip\(config-user-reception\)#", timeout=60)
    term.command("commit comment pasted", timeout=30)
    assert copy.show() == text
    # a terminal with bracketed paste sends the block at once
    term.send("\x1b[200~pbx extension 300\n secret Str0ng-300\n!\npbx extension 301 secret Str0ng-301\n\x1b[201~")
    term.wait_pasted("Str0ng-301")
    term.command("commit")
    assert "pbx extension 301" in copy.show()
    # hundreds of lines at once
    block = "".join("pbx extension %d secret Str0ng-%d\n" % (n, n) for n in range(1000, 1300))
    term.send("\x1b[200~" + block + "\x1b[201~")
    term.wait_pasted("Str0ng-1299", timeout=120)
    assert term.command("commit comment block", timeout=60) == ["Commit complete."]
    assert copy.show("show running-config | include ^pbx.extension.1[0-2][0-9][0-9]$ | count") == "300\n"


def test_bad_input_never_crashes_or_corrupts(office, shell):
    before = office.show()
    term = shell(office)
    term.command("configure")
    term.send("\x1b[200~system hostname a\x07b\x1b[201~\r")       # a control character, pasted
    term.wait_text(r"Control characters are not allowed")
    term.command("pbx extension 100 display-name " + "x" * 3000)
    assert "% Invalid input detected at '^' marker.\n" in term.text()
    assert "length is not allowed" in term.text()
    out = term.command("pbx extension 100 display-name \"Jiří 日本\"")
    assert out == []
    assert term.command("pbx extension 100 display-name \"unterminated")[-1] == \
        "% missing '\"' at the end of the line"
    term.type("show running-config | include 2\t\t")
    term.send(CTRL_C)                                             # Ctrl-C cancels the line
    term.wait_prompt()
    term.command("abort")
    assert term.wait_prompt() == "office-pbx#"
    term.send("exit\r")
    assert term.wait_exit() == 0
    assert office.show() == before


def test_operator_and_monitor_cannot_configure(office, shell):
    me = getpass.getuser()
    office.config("system user %s role operator password Op3rator-pass" % me, "commit")
    term = shell(office)
    out = term.command("configure")
    assert out == ["%% Permission denied: %s has the operator role, which cannot enter "
                   "configuration mode." % me]
    assert term.wait_prompt() == "office-pbx#"
    assert "system hostname office-pbx" in term.command("show running-config system")


def test_shell_on_byte_streams_as_the_ssh_server_runs_it(office):
    """terminal.run(): what the built-in SSH server calls for a `shell` channel with a PTY."""
    import socket
    import threading
    from besip_cli.shell import terminal
    from terminal import StreamTerminal
    ours, theirs = socket.socketpair()
    status = []
    thread = threading.Thread(target=lambda: status.append(terminal.run(
        theirs, theirs, user="reception", datastore=office.directory, term="xterm-256color",
        size=lambda: (100, 120), peer="127.0.0.1 40000")), daemon=True)
    thread.start()
    term = StreamTerminal(ours)
    assert term.wait_prompt() == "office-pbx#"
    users = term.command("show users")
    assert any(row.startswith(tuple("0123456789")) and "reception" in row and "127.0.0.1 40000" in row
               for row in users)
    assert term.command("configure")[0] == ("% Permission denied: reception has the monitor role, "
                                            "which cannot enter configuration mode.")
    term.send("sh run sys host?")
    term.wait_text(r"^  hostname +Host name of the appliance")
    term.send("\x15")
    term.close()                                    # the client hangs up
    thread.join(10)
    assert status == [0]
