"""The commit pipeline through the API: what is written where, with which modes, and
that a failing service refuses the commit and puts every file back."""

import os
import stat

import pytest

from besip_cli.datastore import tree as T
from besip_cli.datastore.session import DatastoreError, Session
from besip_cli.services.shards import shard

KAMAILIO_CFG = "etc/kamailio/kamailio.cfg"


def configure(session, *statements):
    """Set leaves: each statement is (data path of the leaf, value)."""
    def edit(cand):
        for path, value in statements:
            schema_path = tuple(step[0] if isinstance(step, tuple) else step for step in path)
            T.set_leaf(cand, session.schema, path[:-1], session.schema.find(schema_path), value)
    session.edit(edit)


def ext(number, leaf):
    return ("pbx", ("extension", number), leaf)


@pytest.fixture
def api(tmp_path, env):
    directory = tmp_path / "data"
    directory.mkdir()
    s = Session(str(directory), user="tester", client="test")
    s.root = directory / "root"
    yield s
    s.close()


def settings(session, text):
    (session.root.parent / "services.toml").write_text(text)


def read(session, path):
    return (session.root / path).read_text()


def test_commit_writes_every_service_file_with_private_secrets(api):
    configure(api, (ext("100", "secret"), "Xk9-strong-1"), (("system", "hostname"), "box1"))
    api.commit("first")
    assert "option hostname 'box1'" in read(api, "etc/config/system")
    for private in ("etc/kamailio/besip.sqlite", "etc/asterisk/pjsip.conf", "etc/asterisk/voicemail.conf"):
        assert stat.S_IMODE(os.stat(api.root / private).st_mode) == 0o600, private
    assert stat.S_IMODE(os.stat(api.root / KAMAILIO_CFG).st_mode) == 0o644
    assert "Xk9-strong-1" not in read(api, KAMAILIO_CFG)
    assert not [n for n in os.listdir(api.root / "etc/kamailio") if n.startswith(".besip-")]


def test_only_changed_services_run(api):
    configure(api, (ext("100", "secret"), "Xk9-strong-1"))
    api.commit("first")
    system = api.root / "etc/config/system"
    system.write_text("left alone\n")
    configure(api, (("pbx", "rtp", "port-min"), "12000"))
    api.commit("pbx only")
    assert system.read_text() == "left alone\n"
    assert "rtpstart=12000" in read(api, "etc/asterisk/rtp.conf")


def test_failed_reload_restores_files_and_running(api):
    configure(api, (ext("100", "secret"), "Xk9-strong-1"))
    api.commit("first")
    before = {p: read(api, p) for p in (KAMAILIO_CFG, "etc/asterisk/pjsip.conf", "etc/config/besip")}
    running = T.copy_tree(api.running)
    settings(api, '[kamailio]\nreload = "! grep -q other.example $BESIP_ROOT/etc/kamailio/kamailio.cfg || '
                  '{ echo kamailio: cannot bind 127.0.0.1:5060 >&2; exit 3; }"\n')
    configure(api, (("pbx", "domain"), "other.example.com"))
    with pytest.raises(DatastoreError) as err:
        api.commit("breaks")
    assert str(err.value) == "commit refused: kamailio reload failed: kamailio: cannot bind 127.0.0.1:5060"
    assert {p: read(api, p) for p in before} == before
    api.refresh()
    assert api.running == running


def test_failed_health_check_refuses_and_reloads_old_files(api, tmp_path):
    configure(api, (ext("100", "secret"), "Xk9-strong-1"))
    api.commit("first")
    log = tmp_path / "reloads"
    settings(api, '[asterisk]\nreload = "cat $BESIP_ROOT/etc/asterisk/rtp.conf >> %s"\n'
                  '[kamailio]\ncheck = "exit 1"\n' % log)
    configure(api, (("pbx", "rtp", "port-min"), "12000"), (("pbx", "sip", "user-agent"), "PBX2"))
    with pytest.raises(DatastoreError, match="kamailio health check failed"):
        api.commit("unhealthy")
    reloads = log.read_text()
    assert "rtpstart=12000" in reloads and reloads.rstrip().endswith("rtpend=20000")
    assert "rtpstart=10000" in read(api, "etc/asterisk/rtp.conf")


def test_verify_refuses_before_anything_is_written(api):
    configure(api, (ext("100", "secret"), "Xk9-strong-1"))
    api.commit("first")
    before = read(api, "etc/config/besip")

    def edit(cand):
        T.ensure(cand, api.schema, ("pbx", "sip", ("listen", ("127.0.0.1", "5061", "tls"))))
        T.set_leaf(cand, api.schema, ("pbx",), api.schema.find(("pbx", "mode")), "proxy")
    api.edit(edit)
    with pytest.raises(DatastoreError, match="TLS needs a certificate"):
        api.commit("tls")
    assert read(api, "etc/config/besip") == before


def test_malformed_dial_pattern_is_refused(api):
    configure(api, (ext("100", "secret"), "Xk9-strong-1"),
              (("pbx", ("route", "r1"), "pattern"), "0[1-"), (("pbx", ("route", "r1"), "extension"), "100"))
    with pytest.raises(DatastoreError, match=r"pbx route r1: dial pattern '0\[1-' is malformed"):
        api.commit("bad pattern")


def test_mode_switch_removes_the_other_programs_files(api):
    configure(api, (ext("100", "secret"), "Xk9-strong-1"), (("pbx", "mode"), "pbx"))
    api.commit("pbx only")
    assert not (api.root / KAMAILIO_CFG).exists()
    assert "[100]" in read(api, "etc/asterisk/pjsip.d/extensions-%s.conf" % shard("100"))
    configure(api, (("pbx", "mode"), "proxy"))
    api.commit("proxy only")
    assert (api.root / KAMAILIO_CFG).exists()
    assert not (api.root / "etc/asterisk/pjsip.conf").exists()
    assert not (api.root / "etc/asterisk/pjsip.d").exists() or not os.listdir(api.root / "etc/asterisk/pjsip.d")


def test_target_root_from_environment(api, tmp_path, monkeypatch):
    monkeypatch.setenv("BESIP_ROOT", str(tmp_path / "elsewhere"))
    configure(api, (ext("100", "secret"), "Xk9-strong-1"))
    api.commit("first")
    assert (tmp_path / "elsewhere" / KAMAILIO_CFG).exists()
    assert not api.root.exists()


def test_bad_settings_file_is_a_clear_refusal(api):
    settings(api, 'platform = "windows"\n')
    configure(api, (ext("100", "secret"), "Xk9-strong-1"))
    with pytest.raises(DatastoreError, match=r"services.toml: platform must be one of none, openwrt, systemd"):
        api.commit("first")
    settings(api, 'root = \n')
    with pytest.raises(DatastoreError, match=r"services.toml: "):
        api.commit("first")
    assert api.running == {}


def test_openwrt_preset_runs_init_scripts(api, tmp_path):
    """This Debian machine has no /etc/init.d/system: the refusal carries sh's own
    message about the preset's command."""
    settings(api, 'platform = "openwrt"\n')
    configure(api, (("system", "hostname"), "box2"))
    with pytest.raises(DatastoreError, match=r"uci_system reload failed: .*/etc/init.d/system"):
        api.commit("first")


def test_a_reload_failing_while_restoring_is_reported(api, tmp_path):
    """Asterisk reloads fine on the new files, Kamailio refuses them; reloading Asterisk
    again on the restored files fails too, and the refusal says so instead of hiding it."""
    configure(api, (ext("100", "secret"), "Xk9-strong-1"))
    api.commit("first")
    count = tmp_path / "asterisk-reloads"
    settings(api, '[asterisk]\nreload = "echo x >> %s; test $(wc -l < %s) -lt 2 || '
                  '{ echo asterisk: no memory >&2; exit 1; }"\n'
                  '[kamailio]\nreload = "! grep -q other.example $BESIP_ROOT/etc/kamailio/kamailio.cfg || '
                  '{ echo kamailio: bad cfg >&2; exit 2; }"\n' % (count, count))
    configure(api, (("pbx", "domain"), "other.example.com"), (("pbx", "rtp", "port-min"), "12000"))
    with pytest.raises(DatastoreError) as err:
        api.commit("breaks twice")
    assert str(err.value) == ("commit refused: kamailio reload failed: kamailio: bad cfg; restoring the "
                              "previous files failed too: asterisk reload failed: asterisk: no memory")
    assert "other.example" not in read(api, KAMAILIO_CFG) and count.read_text() == "x\nx\n"


def test_services_get_a_transaction_and_never_the_session():
    """Every hook takes the transaction; no service module imports the datastore or imports
    lazily inside a function (the old kamailio <-> state cycle)."""
    import ast
    import inspect
    from besip_cli import services
    for module in services.services():
        for hook in ("verify", "generate", "before_reload"):
            if hasattr(module, hook):
                assert list(inspect.signature(getattr(module, hook)).parameters) == ["tx"], (module, hook)
    folder = os.path.dirname(services.__file__)
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(folder, name)).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert "datastore" not in (node.module or ""), name
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert not [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))], \
                    (name, node.name)


def test_transaction_tells_what_changed():
    from besip_cli import schema as S
    from besip_cli.services.transaction import Transaction
    sch = S.load()
    old = {"pbx": {"extension": {"100": {"number": "100", "secret": "a"},
                                 "101": {"number": "101", "secret": "b"}}}}
    new = {"pbx": {"extension": {"100": {"number": "100", "secret": "a", "display-name": "Al"},
                                 "101": {"number": "101", "secret": "b"}},
                   "domain": "x.example"}}
    tx = Transaction(old, new, tuple(T.diff(old, new, sch.roots)), None)
    assert tx.changed(("pbx",)) and tx.changed(("pbx", "extension"))
    assert tx.changed(("pbx", ("extension", "100"), "display-name"))
    assert not tx.changed(("pbx", ("extension", "101"))) and not tx.changed(("system",))
    assert tx.changed_keys(("pbx", "extension")) == {"100"}
    added = Transaction({}, new, tuple(T.diff({}, new, sch.roots)), None)
    assert added.changed_keys(("pbx", "extension")) is None


def test_one_leaf_change_rewrites_only_its_shard_and_subscriber_row(api):
    """Among many extensions, a changed secret rewrites the one pjsip shard holding the
    extension and its subscriber row (in place, in one SQLite transaction); every other
    shard file stays the very same file."""
    import sqlite3
    numbers = [str(100 + i) for i in range(40)]
    configure(api, *[(ext(n, "secret"), "Xk9-strong-%s" % n) for n in numbers])
    api.commit("many")
    shard_dir = api.root / "etc/asterisk/pjsip.d"
    before = {p.name: os.stat(p).st_ino for p in shard_dir.iterdir()}
    db = api.root / "etc/kamailio/besip.sqlite"
    db_inode = os.stat(db).st_ino
    rows = dict(sqlite3.connect(db).execute("SELECT username, ha1 FROM subscriber").fetchall())
    configure(api, (ext("117", "secret"), "Xk9-changed-117"))
    api.commit("one secret")
    after = {p.name: os.stat(p).st_ino for p in shard_dir.iterdir()}
    mine = "extensions-%s.conf" % shard("117")
    assert [n for n in before if before[n] != after[n]] == [mine]
    assert "Xk9-changed-117" in (shard_dir / mine).read_text()
    assert os.stat(db).st_ino == db_inode and stat.S_IMODE(os.stat(db).st_mode) == 0o600
    now = dict(sqlite3.connect(db).execute("SELECT username, ha1 FROM subscriber").fetchall())
    assert [n for n in numbers if now[n] != rows[n]] == ["117"] and len(now) == len(numbers)


def test_failed_reload_puts_the_subscriber_rows_back(api):
    import sqlite3
    configure(api, (ext("100", "secret"), "Xk9-strong-1"), (ext("101", "secret"), "Xk9-strong-2"))
    api.commit("two")
    db = api.root / "etc/kamailio/besip.sqlite"
    query = "SELECT username, domain, ha1, ha1b, voicemail, recording FROM subscriber ORDER BY username"
    rows = sqlite3.connect(db).execute(query).fetchall()
    settings(api, '[kamailio]\nreload = "exit 4"\n')
    def edit(cand):
        del cand["pbx"]["extension"]["101"]
        cand["pbx"]["extension"]["100"]["secret"] = "Xk9-other-1"
    api.edit(edit)
    with pytest.raises(DatastoreError, match="kamailio reload failed"):
        api.commit("refused")
    assert sqlite3.connect(db).execute(query).fetchall() == rows and len(rows) == 2
