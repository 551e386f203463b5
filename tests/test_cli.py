"""The command language through the real `besip` program: scripts, one-shot commands,
modes, abbreviations, pipes, errors, load/save and the commit model."""

import json
import os
import re
import shutil
import xml.etree.ElementTree as ET

from conftest import EXAMPLE


def test_office_example_commits(office):
    run = office.show()
    assert "system hostname office-pbx" in run
    assert re.search(r'^pbx extension 100\n display-name "Alice Novak"\n secret \$9\$', run, re.M)
    assert " codec [ opus pcma ]" in run
    assert "pbx sip listen 0.0.0.0 5060 udp" in run
    history = office.show("show configuration commit list")
    assert "initial office" in history


def test_secrets_never_shown_in_clear(office, tmp_path):
    outputs = [office.show(), office.show("show running-config | display xml"),
               office.show("show running-config | display json"),
               office.show("show running-config | display set")]
    office.config("save %s" % (tmp_path / "saved.cfg"), "save %s" % (tmp_path / "saved.xml"))
    outputs += [(tmp_path / "saved.cfg").read_text(), (tmp_path / "saved.xml").read_text()]
    assert os.stat(tmp_path / "saved.cfg").st_mode & 0o777 == 0o600   # it holds secrets
    for text in outputs:
        for clear in ("Xk9-strong-1", "Yp4-strong-2", "Tr-secret-9", "Adm1n-pass"):
            assert clear not in text
    assert "$6$" in outputs[0]           # login passwords are crypt hashes


def _rebuild(besip_from, besip_to, text):
    """Feed TEXT (a show running-config) through `besip -f` into another datastore."""
    os.makedirs(besip_to.directory, exist_ok=True)
    shutil.copy(os.path.join(besip_from.directory, "secret.key"), besip_to.directory)
    return besip_to(stdin="configure\n%s\ncommit\n" % text, file="-", check=0)


def test_round_trip_rebuilds_identical_datastore(office, tmp_path, env):
    from conftest import Besip
    other = Besip(tmp_path / "other", env)
    text = office.show()
    _rebuild(office, other, text)
    assert other.show() == text
    for fmt in ("xml", "json"):
        assert other.show("show running-config | display %s" % fmt) == \
            office.show("show running-config | display %s" % fmt)
    # the flat form pastes back too
    third = Besip(tmp_path / "third", env)
    _rebuild(office, third, office.show("show running-config | display set"))
    assert third.show() == text


def test_round_trip_of_every_node_type(besip, tmp_path, env):
    """Strings with quotes and unicode, empty presence containers, leaf-lists in order,
    multi-key lists, unions, enums, booleans, leafrefs and choices survive show -> -f."""
    from conftest import Besip
    besip.config(
        'system user ops role operator full-name "O\'Brien, Jiří" password Op3r-pass',
        "system services ssh port 2222 enabled false",
        "system logging remote 192.0.2.10 protocol tcp",
        "system ntp enabled false server [ 2001:db8::1 ntp.example.org ]",
        "pbx sip listen ::1 5080 tcp",          # tls: refused at commit (no certificate)
        "pbx extension 200 secret Aa-1234567 voicemail",
        "pbx extension 200 codec [ g722 pcmu opus ] enabled false",
        "pbx route local pattern 2XX extension 200 prepend +420",
        "commit")
    text = besip.show()
    assert " voicemail\n" in text and "full-name \"O'Brien, Jiří\"" in text
    other = Besip(tmp_path / "other", env)
    _rebuild(besip, other, text)
    assert other.show() == text
    assert other.show("show running-config | display json") == \
        besip.show("show running-config | display json")


def test_modes_and_sub_modes(besip):
    out = besip("configure", "pbx extension 300", "secret Secret-300", "display-name Carol",
                "exit", "system hostname pbx2", "pbx extension 301", "secret Secret-301",
                "top", "commit", "end", "show running-config pbx extension", check=0).stdout
    assert "pbx extension 300\n display-name Carol\n secret $9$" in out
    assert "pbx extension 301\n secret $9$" in out
    # a top-level statement typed inside a sub-mode applies at the top (IOS behaviour)
    assert "pbx2" in besip.show("show running-config system")


def test_abbreviations(office):
    assert office("sh run sys host", check=0).stdout == "system hostname office-pbx\n"
    office("conf t", "sys hostn short", "comm", check=0)
    assert office.show("sh run system hostname") == "system hostname short\n"


def test_unknown_keyword_caret(besip):
    proc = besip("configure", "pbx extenson 100", check=1)
    lines = proc.stderr.splitlines()
    assert lines[0] == "-c:2: pbx extenson 100"
    assert lines[1].index("^") == len("-c:2: pbx ")
    assert lines[2] == "-c:2: % Invalid input detected at '^' marker."


def test_ambiguous_and_incomplete(besip):
    assert besip("configure", "s", check=1).stderr.strip() == '-c:2: % Ambiguous command: "s"'
    assert besip("configure", "pbx r x", check=1).stderr.strip() == \
        '-c:2: % Ambiguous command: "pbx r"'
    proc = besip("configure", "pbx extension", check=1)
    assert proc.stderr.strip() == "-c:2: % Incomplete command."
    proc = besip("configure", "pbx", check=1)
    assert proc.stderr.strip() == "-c:2: % Incomplete command."


def test_bad_values_name_node_and_rule(besip):
    cases = {
        "pbx extension 100 secret abc": ("secret", "length"),
        "pbx extension 100 call-limit 99": ("call-limit", "range"),
        "pbx extension 1 secret Secret-100": ("number", "length"),
        "system hostname bad_name": ("hostname", "host name"),
        "pbx extension 100 display-name \"x;y\"": ("display-name", ";"),
        "pbx sip listen 1.2.3.400 5060 udp": ("address", "1.2.3.400"),
        "pbx extension 100 codec [ pcmu speex ]": ("codec", "speex"),
    }
    for line, (node, rule) in cases.items():
        proc = besip("configure", line, check=1)
        assert "^" in proc.stderr and "% Invalid input detected" in proc.stderr, line
        detail = proc.stderr.splitlines()[-1]
        assert node in detail and rule in detail, (line, detail)
    assert besip.show() == ""


def test_cross_node_rules_reported_by_commit(besip):
    proc = besip("configure", "pbx mode proxy", "pbx extension 100 secret Secret-100 voicemail",
                 "pbx extension 101 display-name NoSecret", "pbx route r1 pattern 0X. trunk nowhere",
                 "pbx route r2 pattern 0X.", "commit", check=1)
    err = proc.stderr
    assert "Commit failed" in err
    assert "[edit pbx extension 100]" in err and "Voicemail needs the Asterisk PBX" in err
    assert "[edit pbx extension 101]" in err and "secret" in err
    assert "[edit pbx route r1]" in err and "nowhere" in err
    assert "[edit pbx route r2]" in err
    assert besip.show() == ""                             # nothing committed
    unique = besip("configure", "pbx trunk t host sip.example.net username u",
                   "pbx route a pattern 0X. trunk t", "pbx route b pattern 0X. trunk t",
                   "commit check", check=1).stderr
    assert "same pattern and priority" in unique


def test_commit_check_and_compare(office):
    out = office("configure", "pbx extension 100 display-name Alicia", "no pbx route emergency",
                 "show | compare", "commit check", check=0).stdout
    assert "[edit pbx extension 100]\n- display-name \"Alice Novak\"\n+ display-name Alicia" in out
    assert "- route emergency" in out
    assert "Validation complete" in out
    assert "Alicia" not in office.show()                  # check commits nothing


def test_script_failure_leaves_everything_as_it_was(office, tmp_path):
    before_run = office.show()
    before_cand = office("configure", "show", check=0).stdout
    script = tmp_path / "bad.cfg"
    script.write_text("configure\nsystem hostname changed\ncommit\n"
                      "pbx extension 100 display-name Mallory\nsystem hostnmae x\n")
    proc = office(file=script, check=1)
    assert proc.stderr.splitlines()[-1] == "%s:5: %% Invalid input detected at '^' marker." % script
    assert office.show() == before_run
    assert office("configure", "show", check=0).stdout == before_cand
    assert "restore after" in office.show("show configuration commit list")


def test_pipes(office):
    assert office("show running-config | include secret | count", check=0).stdout == "4\n"
    out = office("show running-config | begin ^pbx route | exclude \"^ \"", check=0).stdout
    assert out.splitlines()[0] == "pbx route emergency"
    section = office("show running-config | section trunk", check=0).stdout
    assert section.splitlines() == ["pbx trunk provider1", " host sip.example.net",
                                    " username 4202000", section.splitlines()[3], "!"]
    data = json.loads(office.show("show running-config pbx trunk | display json"))
    assert data == {"besip-pbx:pbx": {"trunk": [data["besip-pbx:pbx"]["trunk"][0]]}}
    assert data["besip-pbx:pbx"]["trunk"][0]["host"] == "sip.example.net"
    root = ET.fromstring(office.show("show running-config system | display xml"))
    hostname = root.find("{urn:besip:params:xml:ns:yang:besip-system}system/"
                         "{urn:besip:params:xml:ns:yang:besip-system}hostname")
    assert hostname.text == "office-pbx"
    flat = office.show("show running-config pbx route | display set")
    assert "pbx route national pattern 0XXXXXXXXX\n" in flat
    bad = office("show running-config | include (", check=1)
    assert "regular expression" in bad.stderr


def test_json_is_rfc7951(office):
    data = json.loads(office.show("show running-config | display json"))
    ext = data["besip-pbx:pbx"]["extension"][2]
    assert ext["call-limit"] == 4                        # uint8 as a JSON number
    assert data["besip-system:system"]["ntp"]["server"][0] == "0.openwrt.pool.ntp.org"


def test_load_merge_override_and_save(office, tmp_path):
    for suffix in ("cfg", "xml", "json"):
        office.config("save %s" % (tmp_path / ("all." + suffix)))
    merge = tmp_path / "merge.cfg"
    merge.write_text("pbx extension 500\n secret Merge-5000\n!\nsystem hostname merged\n")
    office.config("load merge %s" % merge, "commit")
    run = office.show()
    assert "pbx extension 500" in run and "pbx extension 100" in run and "merged" in run
    for suffix in ("cfg", "xml", "json"):
        office.config("load override %s" % (tmp_path / ("all." + suffix)), "commit")
        assert "pbx extension 500" not in office.show()
        office.config("load merge %s" % merge, "commit")
    broken = tmp_path / "broken.cfg"
    broken.write_text("pbx extension 600\n secret Merge-6000\n bogus 1\n")
    proc = office("configure", "load merge %s" % broken, check=1)
    assert "broken.cfg:3" in proc.stderr
    bad_xml = tmp_path / "bad.xml"
    bad_xml.write_text("<config><pbx xmlns='urn:besip:params:xml:ns:yang:besip-pbx'><nope/></pbx></config>")
    assert "unknown element" in office("configure", "load merge %s" % bad_xml, check=1).stderr


def test_rollback(office):
    office.config("system hostname second", "commit comment two")
    office.config("system hostname third", "commit comment three")
    office.config("rollback 2", "commit comment back")
    assert office.show("show running-config system hostname") == "system hostname office-pbx\n"
    listing = office.show("show configuration commit list").splitlines()
    assert listing[1].split()[0] == "0" and listing[1].endswith("back")
    assert "three" in listing[2]
    changes = office.show("show configuration commit changes 3")
    assert "- hostname second" in changes and "+ hostname third" in changes
    assert "no rollback 99" in office("configure", "rollback 99", check=1).stderr


def test_no_deletes(office):
    office.config("no pbx extension 102", "no pbx extension 100 codec pcma",
                  "no pbx extension 101 recording", "no system dns", "commit")
    run = office.show()
    assert "pbx extension 102" not in run and "codec [ opus ]" in run
    assert "recording" not in run and "system dns" not in run
    warn = office("configure", "no pbx extension 777", check=0).stdout
    assert "nothing to delete" in warn


def test_choice_cases_replace_each_other(office):
    office.config("pbx route national extension 100", "commit")
    run = office.show("show running-config pbx route national")
    assert "extension 100" in run and "trunk" not in run


def test_several_c_and_datastore_env(tmp_path, env):
    import subprocess
    import sys
    home = tmp_path / "home"
    environ = dict(env, BESIP_HOME=str(home))
    argv = [sys.executable, "-m", "besip_cli", "-c", "configure", "-c", "system hostname viaenv",
            "-c", "commit"]
    assert subprocess.run(argv, env=environ, capture_output=True).returncode == 0
    assert (home / "besip.db").exists()


def test_empty_commit_and_exec_exit(besip):
    assert "No modifications" in besip("configure", "commit", check=0).stdout
    assert besip("exit", "show running-config", check=0).stdout == ""


def test_locks_are_shared_and_die_with_their_owner(office):
    import subprocess
    import sys
    import time
    holder_code = ("import sys, time\n"
                   "from besip_cli.datastore.session import Session\n"
                   "s = Session(sys.argv[1], user='alice', client='netconf')\n"
                   "s.lock('candidate'); s.lock('running')\n"
                   "print('locked', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", holder_code, office.directory],
                              stdout=subprocess.PIPE, text=True, env=office.env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        sessions = office("show configuration sessions", check=0).stdout
        assert re.search(r"alice +netconf +%d .*candidate, running" % holder.pid, sessions)
        proc = office("configure", "system hostname other", "commit", check=1)
        assert "% Warning: the candidate configuration is locked by alice (netconf session" \
            in proc.stdout
        assert "locked by alice (netconf session" in proc.stderr
        assert "pid %d" % holder.pid in proc.stderr
        assert "locked by alice" in office("configure shared", check=1).stderr
        assert "locked by alice" in office("configure exclusive", check=1).stderr
    finally:
        holder.kill()
        holder.wait(timeout=20)
    office.config("system hostname other", "commit")        # the lock died with its owner
    assert "alice" not in office("show configuration sessions", check=0).stdout
    # configure exclusive locks running for the shell's session: nobody else commits
    out = office("configure exclusive", "do show configuration sessions", check=0).stdout
    assert re.search(r" running\n", out), out


def test_compare_with_rollback_and_abort(office):
    office.config("system hostname second", "commit")
    out = office("configure", "system hostname third", "show | compare rollback 1",
                 "show | compare | count", check=0).stdout
    assert "- hostname office-pbx\n+ hostname third" in out
    assert out.rstrip().endswith("3")
    office("configure", "system hostname fourth", "abort", "show running-config system hostname",
           check=0)
    assert office("configure", "show system hostname", check=0).stdout == "system hostname second\n"
    assert "There is no rollback 9" in office("configure", "show | compare rollback 9", check=1).stderr


def test_do_and_show_in_sub_mode(office):
    out = office("configure", "pbx extension 100", "show", "do show running-config system hostname",
                 check=0).stdout
    assert out.startswith("pbx extension 100\n display-name \"Alice Novak\"")
    assert out.endswith("system hostname office-pbx\n")
