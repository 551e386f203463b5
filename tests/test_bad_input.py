"""Bad input gets a clear `%` message through the real `besip` program, never a traceback,
and changes nothing: bad values in loaded files, `no LEAF VALUE` with another value, a
byte-order mark, text with invisible or line-breaking characters, a new datastore made by
a typo. (Faults of the data directory itself are in test_durability.py.)"""

import glob
import json
import os
import subprocess
import sys

import pytest

from conftest import EXAMPLE


def _unchanged(office, before):
    assert office.show() == before
    assert office("configure", "show | compare", check=0).stdout == ""


# --------------------------------------------------------------------------- load merge

@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_load_merge_of_a_document_with_a_bad_value_names_file_and_path(office, tmp_path, fmt):
    saved = tmp_path / ("saved." + fmt)
    office.config("save %s" % saved)
    bad = tmp_path / ("bad." + fmt)
    bad.write_text(saved.read_text().replace("office-pbx", "bad host!"))
    before = office.show()
    proc = office("configure", "load merge %s" % bad, check=1)
    assert proc.stderr.splitlines() == [
        '-c:2: %% %s: invalid value "bad host!" at system/hostname: A host name may contain '
        "only letters, digits and '-', and must not start or end with '-'." % bad]
    _unchanged(office, before)


def test_load_merge_error_shows_the_line_and_its_caret(office, tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text('pbx extension 100\n display-nane "x"\n')
    proc = office("configure", "load merge %s" % bad, check=1)
    assert proc.stderr.splitlines() == [
        "-c:2: %% %s:2: Invalid input detected at '^' marker." % bad,
        '-c:2:    display-nane "x"',
        "-c:2:    ^"]
    unterminated = tmp_path / "quote.cfg"
    unterminated.write_text('pbx extension 100 display-name "Alice\n')
    proc = office("configure", "load merge %s" % unterminated, check=1)
    assert proc.stderr.splitlines() == [
        "-c:2: %% %s:1: Invalid input detected at '^' marker." % unterminated,
        '-c:2:   pbx extension 100 display-name "Alice',
        "-c:2:                                  ^",
        "-c:2: % missing '\"' at the end of the line"]


# --------------------------------------------------------------------------- no LEAF VALUE

def test_no_with_another_value_is_refused(office):
    before = office.show()
    proc = office("configure", 'no pbx extension 100 display-name "Bob"', "commit", check=1)
    assert proc.stderr.splitlines() == [
        '-c:2: no pbx extension 100 display-name "Bob"',
        "                                        ^",
        "-c:2: % Invalid input detected at '^' marker.",
        '-c:2: % display-name is "Alice Novak", not "Bob"']
    for line in ("no pbx extension 100 secret Wrong-pass-1", "no system user admin password nope"):
        proc = office("configure", line, check=1)
        assert proc.stderr.splitlines()[-1].endswith("does not match the configured value")
        assert "Xk9-strong-1" not in proc.stderr and "Adm1n-pass" not in proc.stderr
    _unchanged(office, before)
    compare = office.config("no pbx extension 100 secret Xk9-strong-1",
                            "no system user admin password Adm1n-pass", "show | compare",
                            "abort").stdout
    assert "- secret $9$" in compare and "- password $6$" in compare
    office.config('no pbx extension 100 display-name "Alice Novak"', "commit")
    assert "Alice Novak" not in office.show()


# --------------------------------------------------------------------------- byte-order mark

def test_script_and_loaded_file_with_a_utf8_bom_work(besip, tmp_path):
    script = tmp_path / "bom.cfg"
    script.write_bytes(b"\xef\xbb\xbf" + open(EXAMPLE, "rb").read())
    assert "Commit complete." in besip(file=script, check=0).stdout
    assert "Commit complete." in besip(file="-", stdin=script.read_text(encoding="utf-8"),
                                       check=0).stdout
    loaded = tmp_path / "load.cfg"
    loaded.write_bytes(b"\xef\xbb\xbfsystem hostname from-bom\n")
    besip.config("load merge %s" % loaded, "commit")
    assert "system hostname from-bom" in besip.show()


# --------------------------------------------------------------------------- free text

def test_emoji_and_any_script_are_allowed_in_names(office):
    office.config('pbx extension 100 display-name "Alice 😀 Nováková"',
                  'system user admin full-name "Jiří Čapek 🎉 日本"', "commit")
    shown = office.show()
    assert 'display-name "Alice 😀 Nováková"' in shown
    assert 'full-name "Jiří Čapek 🎉 日本"' in shown
    data = json.loads(office.show("show running-config | display json"))
    assert data["besip-pbx:pbx"]["extension"][0]["display-name"] == "Alice 😀 Nováková"
    mailboxes = glob.glob(os.path.join(office.directory, "root", "etc", "asterisk", "voicemail.d", "*.conf"))
    assert any("Alice 😀 Nováková" in open(path, encoding="utf-8").read() for path in mailboxes)


INVISIBLE = {"\u2028": "line separator", "\u2029": "paragraph separator",
             "\u202e": "right-to-left override", "\u2066": "left-to-right isolate",
             "\u200b": "zero-width space", "\ufeff": "zero-width no-break space",
             "\u0085": "next line", "\x1b": "escape", "\ue000": "private use"}


@pytest.mark.parametrize("char", INVISIBLE, ids=INVISIBLE.values())
def test_invisible_and_line_breaking_characters_are_refused(office, char):
    before = office.show()
    for line, leaf in (('pbx extension 100 display-name "Al%sice"' % char, "display-name"),
                       ('system user admin full-name "Ad%smin"' % char, "full-name")):
        proc = office("configure", line, check=1)
        last = proc.stderr.split("\n")[-2]
        assert last.startswith("-c:2: % invalid value") and "for %s:" % leaf in last, proc.stderr
        assert "\\u%04x" % ord(char) in last          # the invisible character made visible
        assert "control or invisible formatting characters" in last
    _unchanged(office, before)


def test_json_output_escapes_line_and_paragraph_separators(env):
    """Whatever a stored value holds (a datastore of an older build), `| display json` and
    `save FILE.json` stay valid JSON that line-splitting tools cannot cut."""
    from besip_cli import schema
    from besip_cli.datastore import codec
    tree = {"pbx": {"extension": {"100": {"number": "100", "display-name": "A\u2028B\u2029C"}}}}
    text = codec.dumps(tree, schema.load())
    assert "\u2028" not in text and "\u2029" not in text and "\\u2028" in text
    assert text.splitlines() == text.split("\n")
    assert json.loads(text)["besip-pbx:pbx"]["extension"][0]["display-name"] == "A\u2028B\u2029C"


# --------------------------------------------------------------------------- a new datastore

def _run(env, *args):
    return subprocess.run([sys.executable, "-m", "besip_cli"] + list(args), capture_output=True,
                          text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)


def test_a_new_datastore_is_announced_once(tmp_path, env):
    typo = tmp_path / "dtaa"
    first = _run(env, "--datastore", str(typo), "-c", "show version")
    assert first.returncode == 0 and first.stderr == \
        "besip: creating a new datastore in %s\n" % typo
    again = _run(env, "--datastore", str(typo), "-c", "show version")
    assert again.returncode == 0 and again.stderr == ""
    home = dict(env, BESIP_HOME=str(tmp_path / "home"))
    assert _run(home, "-c", "show version").stderr.startswith("besip: creating a new datastore")


def test_the_default_directory_is_created_quietly(tmp_path, env):
    default = dict(env, XDG_DATA_HOME=str(tmp_path / "xdg"))
    proc = _run(default, "-c", "show version")
    assert proc.returncode == 0 and proc.stderr == ""
    assert os.path.exists(tmp_path / "xdg" / "besip" / "besip.db")


def test_proxy_pbx_refuses_a_listen_on_asterisks_port(besip):
    """In proxy-pbx mode Asterisk binds port 5080 on every IPv4 address: a Kamailio listen
    there (any IPv4 address, or the dual-stack ::) is refused at commit; IPv6 is free."""
    for address in ("192.0.2.10", "::"):
        proc = besip("configure", "pbx mode proxy-pbx", "pbx sip listen %s 5080 udp" % address,
                     "commit", check=1)
        assert "port 5080 is Asterisk's on every IPv4 address in proxy-pbx mode" in proc.stderr
    besip.config("pbx mode proxy-pbx", "pbx sip listen 2001:db8::5 5080 udp", "commit check")
