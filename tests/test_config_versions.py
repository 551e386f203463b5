"""Versioned configurations: `save` states the format version, files of older versions load
through besip_cli/datastore/migrations (a fixture per version), newer ones are refused."""

import json
import os

import pytest

from besip_cli.datastore import migrations

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                        "config-versions")


@pytest.mark.parametrize("suffix", ["cfg", "json", "xml"])
def test_save_states_the_format_version_and_loads_back(office, tmp_path, suffix):
    path = tmp_path / ("saved." + suffix)
    office.config("save %s" % path)
    text = path.read_text()
    if suffix == "json":
        assert json.loads(text)[migrations.KEY] == migrations.CURRENT
    else:
        assert text.splitlines()[0].strip("!<>- ") == "%s %d" % (migrations.KEY,
                                                                   migrations.CURRENT)
    before = office.show()
    office.config("load override %s" % path, "commit")
    assert office.show() == before


@pytest.mark.parametrize("fixture", sorted(os.listdir(FIXTURES)))
def test_every_format_version_loads(besip, fixture):
    besip.config("load merge %s" % os.path.join(FIXTURES, fixture), "commit")
    shown = besip.show("show running-config pbx extension 100")
    assert 'display-name "Alice Novak"' in shown


def test_format_1_loses_only_characters_format_2_refuses(besip):
    besip.config("load merge %s" % os.path.join(FIXTURES, "v1.cfg"), "commit")
    shown = besip.show()
    assert "system hostname old-box" in shown
    assert 'display-name "Alice Novak"' in shown and 'display-name BobSmith' in shown


@pytest.mark.parametrize("suffix", ["cfg", "json", "xml"])
def test_newer_format_is_refused_clearly(besip, tmp_path, suffix):
    newer = migrations.CURRENT + 1
    body = {"cfg": "! %s %d\nsystem hostname future\n" % (migrations.KEY, newer),
            "json": json.dumps({migrations.KEY: newer,
                                "besip-system:system": {"hostname": "future"}}),
            "xml": "<!-- %s %d -->\n<config/>\n" % (migrations.KEY, newer)}[suffix]
    path = tmp_path / ("future." + suffix)
    path.write_text(body)
    proc = besip("configure", "load merge %s" % path, check=1)
    assert "%% %s: configuration format %d is newer than this BESIP's (%d)" % (
        path, newer, migrations.CURRENT) in proc.stderr
    assert "future" not in besip.show()


def test_save_into_a_directory_says_so(besip, tmp_path):
    proc = besip("configure", "save %s" % tmp_path, check=1)
    assert "%% Cannot write %s: Is a directory." % tmp_path in proc.stderr


def test_a_script_file_is_migrated_or_refused_by_its_version(besip, tmp_path):
    """`besip -f`: a script of format 1 runs through the migration steps (its display-name
    with a line separator, which format 2 refuses, loses only that character); a script of
    a newer format is refused before any line runs."""
    old = tmp_path / "old.cfg"
    old.write_text('configure\npbx extension 100 secret Old-pass-100 display-name "Bob\u2028Smith"\n'
                   "commit\n", encoding="utf-8")
    besip(file=old, check=0)
    assert 'display-name BobSmith' in besip.show("show running-config pbx extension 100")
    newer = tmp_path / "newer.cfg"
    newer.write_text("! %s %d\nconfigure\nsystem hostname future\ncommit\n"
                     % (migrations.KEY, migrations.CURRENT + 1))
    proc = besip(file=newer, check=1)
    assert proc.stderr == "%s: %% configuration format %d is newer than this BESIP's (%d): " \
        "load it with a newer BESIP or save it there in format %d\n" % (
            newer, migrations.CURRENT + 1, migrations.CURRENT, migrations.CURRENT), proc.stderr
    assert "future" not in besip.show()
