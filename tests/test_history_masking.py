"""Typed secrets are masked in `show history`, in the shell's history file and in every error
that shows a line or a value: script reports, loaded files, NETCONF rpc-errors."""

import xml.etree.ElementTree as ET

import pytest

from besip_cli.shell import masking
from netconf_fixtures import box, connect, sshd  # noqa: F401 (fixtures)


def test_show_history_masks_secrets(besip):
    proc = besip("configure", "pbx extension 100 secret Clear-pass-1",
                 'pbx extension 101 sec "Quoted-pass-2" display-name Bob',
                 "system user alice password Adm1n-pass role admin", "end", "show history",
                 check=0)
    for clear in ("Clear-pass-1", "Quoted-pass-2", "Adm1n-pass"):
        assert clear not in proc.stdout
    assert "pbx extension 101 sec ***** display-name Bob" in proc.stdout
    assert "system user alice password ***** role admin" in proc.stdout


@pytest.mark.parametrize("line, masked", [
    ('secret "unterminated', "secret *****"),
    ("show running-config | include secret", "show running-config | include secret"),
    ("pbx extension 100 display-name Secretary", "pbx extension 100 display-name Secretary"),
])
def test_mask_edge_cases(session, line, masked):
    assert masking.mask(line, masking.secret_names(session.schema)) == masked


def test_history_file_masks_secrets(session, tmp_path):
    from besip_cli.shell.terminal import _history
    history = _history(session)
    history.append_string("pbx extension 100 secret Clear-pass-1")
    text = open(history.filename).read()
    assert "Clear-pass-1" not in text and "secret *****" in text


# ---------------------------------------------------------------- errors never echo a secret

SECRET = "Sup3rSecret!"


def _caret_under(lines, word):
    """The caret of an error report (line, caret line) stands under WORD of the line."""
    shown = next(i for i, line in enumerate(lines) if line.rstrip().endswith("^"))
    return lines[shown].index("^") == lines[shown - 1].index(word)


@pytest.mark.parametrize("line, under", [
    ("pbx extension 100 secret %s bogus" % SECRET, "bogus"),       # caret after the secret
    ("pbx extension 100 secret Sh0rt!", "*****"),                   # the value is refused
    ('pbx extension 100 secret "%s bogus' % SECRET, "*****"),       # unterminated quote
    ("pbx extension 100 sec %s c" % SECRET, None),                  # ambiguous after it
    ("system user bob password %s role boss" % SECRET, "boss"),
])
def test_script_errors_mask_secrets(besip, tmp_path, line, under):
    script = tmp_path / "changes.cfg"
    script.write_text("configure\n%s\ncommit\n" % line)
    for proc in (besip("configure", line, check=1), besip(file=script, check=1)):
        assert SECRET not in proc.stderr and "Sh0rt!" not in proc.stderr, proc.stderr
        assert "*****" in proc.stderr
        if under:
            assert _caret_under(proc.stderr.splitlines(), under), proc.stderr


@pytest.mark.parametrize("name, text", [
    ("bad.cfg", "pbx extension 100 secret %s bogus\n" % SECRET),
    ("short.cfg", "pbx extension 100 secret Sh0rt!\n"),
    ("short.json", '{"besip-pbx:pbx": {"extension": [{"number": "100", "secret": "Sh0rt!"}]}}'),
    ("short.xml", '<config><pbx xmlns="urn:besip:params:xml:ns:yang:besip-pbx"><extension>'
                  '<number>100</number><secret>Sh0rt!</secret></extension></pbx></config>'),
])
def test_load_errors_mask_secrets(besip, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    proc = besip("configure", "load merge %s" % path, check=1)
    assert SECRET not in proc.stderr and "Sh0rt!" not in proc.stderr, proc.stderr
    assert "*****" in proc.stderr
    if name == "bad.cfg":
        assert _caret_under(proc.stderr.splitlines(), "bogus"), proc.stderr


@pytest.mark.parametrize("line, pos, masked, at", [
    ("pbx extension 100 secret %s bogus" % SECRET, 38, "pbx extension 100 secret ***** bogus", 31),
    ("a secret xx secret yyyyyy zz", 26, "a secret ***** secret ***** zz", 28),
    ("a secret xx secret yyyyyy zz", 20, "a secret ***** secret ***** zz", 22),
    ('a secret "open', 9, "a secret *****", 9),
    ("no secrets here", 3, "no secrets here", 3),
])
def test_mask_moves_the_caret(session, line, pos, masked, at):
    assert masking.mask_at(line, masking.secret_names(session.schema), pos) == (masked, at)


def test_netconf_value_errors_mask_secrets(box, sshd):
    from ncclient.operations import RPCError
    config = ('<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
              '<pbx xmlns="urn:besip:params:xml:ns:yang:besip-pbx"><extension>'
              '<number>100</number><secret>Sh0rt!</secret></extension></pbx></config>')
    with connect(sshd) as netconf:
        with pytest.raises(RPCError) as refused:
            netconf.edit_config(target="candidate", config=config)
    reply = ET.tostring(refused.value.xml, encoding="unicode")
    assert "Sh0rt!" not in reply and "*****" in refused.value.message, reply
