"""Typed secrets are masked in `show history` and in the shell's history file."""

import pytest

from besip_cli.shell import masking


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
