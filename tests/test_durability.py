"""Durability of the datastore: kills at random instants, power loss after a commit,
damaged or hand-edited databases, unusable data directories, and a confirmed commit
whose timer dies with the box.

Everything goes through the real `besip` program (a subprocess) except where a test
needs to look at the trees exactly; then it opens the datastore with the API, the way
every front-end does. Self-contained: uses no fixture from conftest.py.
"""

import contextlib
import copy
import os
import random
import select
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from besip_cli.datastore.session import Session  # noqa: E402

CONFIRM_MODULE = "besip_cli.datastore.confirm"
KILL_ITERATIONS = 60
KILL_TIME_BUDGET = 35.0          # seconds for the whole kill loop, whatever the machine
SEED = int(os.environ.get("BESIP_DURABILITY_SEED", "20240611"))


# --------------------------------------------------------------------------- helpers

@pytest.fixture(scope="session")
def durability_env(tmp_path_factory):
    """Environment of every besip subprocess: one schema cache for the whole run."""
    cache = tmp_path_factory.mktemp("durability-cache")
    environ = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=ROOT)
    environ.pop("BESIP_HOME", None)
    environ.pop("BESIP_ROOT", None)          # generated files go to DIR/root
    environ.pop("PYTHONUNBUFFERED", None)
    return environ


@pytest.fixture(scope="session")
def schema(durability_env):
    """The compiled schema, loaded in this process from the same cache as the subprocesses."""
    from besip_cli import schema as schema_mod
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = durability_env["XDG_CACHE_HOME"]
    try:
        return schema_mod.load()
    finally:
        if saved is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved


def argv(directory, *lines):
    out = [sys.executable, "-m", "besip_cli", "--datastore", str(directory)]
    for line in lines:
        out += ["-c", line]
    return out


def besip(env, directory, *lines, timeout=60):
    return subprocess.run(argv(directory, *lines), capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def ok(proc):
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def open_api(directory, schema, **kw):
    return Session(str(directory), user="t", client="test", schema=schema, **kw)


def db_rows(directory, sql, args=()):
    """Rows of SQL read straight from besip.db (no besip code involved)."""
    db = sqlite3.connect(os.path.join(str(directory), "besip.db"), timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def config_tables(directory):
    """Everything the configuration is made of (not the session bookkeeping)."""
    return {table: db_rows(directory, "SELECT * FROM %s ORDER BY 1" % table)
            for table in ("meta", "datastore", "history", "pending_confirm")}


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().decode(errors="replace").rstrip("\0").split("\0")
    except OSError:
        return []


def running_process(pid):
    """True while PID exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def confirm_timers(directory):
    """Pids of confirmed-commit timers started for DIRECTORY (exact argument match)."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            args = proc_cmdline(int(name))
            if CONFIRM_MODULE in args and args[-1] == str(directory) and running_process(int(name)):
                pids.append(int(name))
    return pids


def wait_gone(pid, limit=5.0):
    end = time.monotonic() + limit
    while running_process(pid) and time.monotonic() < end:
        time.sleep(0.05)
    return not running_process(pid)


def wait_reaped(pid, limit=5.0):
    """Wait until PID is not even a zombie any more (as after a reboot: no such process)."""
    end = time.monotonic() + limit
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < end:
        time.sleep(0.02)
    return not os.path.exists("/proc/%d" % pid)


@pytest.fixture
def data_dir(tmp_path):
    """A data directory; any confirmed-commit timer left for it is stopped afterwards."""
    directory = tmp_path / "data"
    yield directory
    for pid in confirm_timers(directory):
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid)


# --------------------------------------------------------------------------- 1. kills

def _edit_lines(n):
    return ["configure", "system hostname h%d" % n,
            'pbx extension 1%02d display-name "%d" secret Secret-%04d' % (n, n, n), "commit"]


def _after(tree, n):
    """The configuration TREE becomes when the script of _edit_lines(n) commits."""
    new = copy.deepcopy(tree)
    new.setdefault("system", {})["hostname"] = "h%d" % n
    number = "1%02d" % n
    new.setdefault("pbx", {}).setdefault("extension", {})[number] = {
        "number": number, "display-name": str(n), "secret": "Secret-%04d" % n}
    return new


def _inspect(directory, schema):
    """Open the datastore as besip does; (running, candidate, head of history, history
    length); fails the test if it does not open cleanly or a dead session's lock stays."""
    s = open_api(directory, schema)
    try:
        head = s.store.history(1)
        head_tree = s.store.revision(head[0][0]) if head else {}
        assert s.holder("candidate") is None, "a killed session's lock survived: %s" % s.holder("candidate")
        assert s.holder("running") is None, s.holder("running")
        return s.running, s.candidate, head_tree, len(s.store.history(1000))
    finally:
        s.close()


def test_kill_at_random_instants_leaves_old_or_new_config(data_dir, durability_env, schema):
    env = dict(durability_env, PYTHONUNBUFFERED="1")     # "Commit complete." is seen at once
    rng = random.Random(SEED)

    # warm up (schema cache, secret key), then measure when a script commits and ends
    committed, commit_at, runtimes = {}, [], []
    for n in (10, 11, 12):
        start = time.monotonic()
        proc = subprocess.Popen(argv(data_dir, *_edit_lines(n)), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True)
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        commit_at.append(time.monotonic() - start)
        out, err = proc.communicate(timeout=60)
        runtimes.append(time.monotonic() - start)
        assert proc.returncode == 0 and line.startswith("Commit complete."), (line, out, err)
        committed = _after(committed, n)
    running, candidate, head, commits = _inspect(data_dir, schema)
    assert running == committed == candidate == head and commits == 3
    typical = statistics.median(runtimes[1:])
    # estimate of the instant of the commit, adapted as the loop goes (the machine's speed
    # varies): a kill there is as likely to leave the old as the new configuration
    target = statistics.median(commit_at[1:])

    outcomes = {"old": 0, "new": 0}
    kills, log = 0, []
    loop_end = time.monotonic() + KILL_TIME_BUDGET
    for i in range(KILL_ITERATIONS):
        if time.monotonic() > loop_end:
            break
        n = 13 + i
        # even iterations: anywhere from the start to about the end of the run (the commit
        # is near the end); odd ones: around the commit
        if i % 2 == 0:
            delay = rng.uniform(0.0, 1.15 * target)
        else:
            delay = target * rng.uniform(0.85, 1.15)
        new = _after(committed, n)
        start = time.monotonic()
        proc = subprocess.Popen(argv(data_dir, *_edit_lines(n)), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True)
        time.sleep(max(0.0, start + delay - time.monotonic()))
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=30)
        killed = proc.returncode == -signal.SIGKILL
        kills += killed
        where = "iteration %d (N=%d, kill after %.3fs of ~%.3fs, rc %s)" % (
            i, n, delay, typical, proc.returncode)
        assert "Traceback" not in err, (where, err)
        if not killed:
            assert proc.returncode == 0 and "Commit complete." in out, (where, out, err)
        # a commit the program reported is the only possibility; otherwise old or new
        possible = {"new": new} if "Commit complete." in out else {"old": committed, "new": new}

        try:
            running, candidate, head, commits = _inspect(data_dir, schema)
        except Exception as exc:          # never an error after a kill
            pytest.fail("%s: the datastore does not open: %r" % (where, exc))
        found = [name for name, tree in possible.items() if running == tree]
        assert found, "%s: running is none of %s:\n%r\nexpected one of %r" % (
            where, sorted(possible), running, possible)
        assert candidate == running, "%s: the candidate was left different from running" % where
        assert head == running, "%s: the last history entry differs from running" % where
        outcomes[found[0]] += 1
        log.append((round(delay, 3), found[0], killed))
        committed = running
        if i % 2:
            target *= 0.94 if found[0] == "new" else 1.06

    iterations = outcomes["old"] + outcomes["new"]
    new_killed = sum(1 for _d, found, was_killed in log if found == "new" and was_killed)
    print("kill test: %s, %d killed (%d of them after the commit), typical run %.3fs, "
          "commit instant now ~%.3fs" % (outcomes, kills, new_killed, typical, target))
    assert iterations >= 20, "only %d iterations in %ss" % (iterations, KILL_TIME_BUDGET)
    assert kills >= iterations // 3, "too few runs were actually killed: %d" % kills
    # both outcomes must have happened, or the kill instants did not cover the commit
    assert outcomes["new"] >= 3 and outcomes["old"] >= 3, (outcomes, typical, target, log)
    assert commits == min(50, 3 + outcomes["new"]), "phantom or lost history entries"

    # and the real program agrees
    shown = ok(besip(durability_env, data_dir, "show running-config"))
    assert "system hostname %s" % committed["system"]["hostname"] in shown
    assert shown.count("pbx extension ") == len(committed["pbx"]["extension"])


def test_kill_after_files_installed_leaves_files_matching_running(data_dir, durability_env):
    """The box dies right after a service's files were installed (its reload command is
    the kill, deterministically) and before the commit is stored."""
    ok(besip(durability_env, data_dir, "configure", "system hostname base", "commit"))
    uci = data_dir / "root" / "etc" / "config" / "system"
    assert "'base'" in uci.read_text()
    (data_dir / "services.toml").write_text('[uci_system]\nreload = "kill -KILL $PPID"\n')
    proc = besip(durability_env, data_dir, "configure", "system hostname crashed", "commit")
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)
    (data_dir / "services.toml").unlink()              # the box comes back normally

    shown = ok(besip(durability_env, data_dir, "show running-config"))
    assert "system hostname base" in shown             # the datastore kept the old one
    assert "crashed" not in uci.read_text() and "'base'" in uci.read_text(), \
        "running says 'base' but the generated %s says 'crashed'" % uci


# --------------------------------------------------------------------------- 2. power loss

_WRITER = r"""
import sys, time
from besip_cli.datastore.session import Session
s = Session(sys.argv[1], user="t", client="test")
def change(tree):
    tree.setdefault("system", {})["hostname"] = "durable"
    tree.setdefault("pbx", {}).setdefault("extension", {})["150"] = {
        "number": "150", "display-name": "Durable", "secret": "Xk9-strong-1"}
s.edit(change)
print("COMMITTED", s.commit(comment="durable"), flush=True)
time.sleep(120)      # never closes: the box loses power now
"""


def test_commit_that_returned_survives_power_loss(data_dir, tmp_path, durability_env, schema):
    ok(besip(durability_env, data_dir, "configure", "system hostname before",
             'pbx extension 100 display-name "Alice" secret Xk9-strong-1', "commit"))
    before = _inspect(data_dir, schema)[0]

    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(data_dir)], env=durability_env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([writer.stdout], [], [], 30)
        line = writer.stdout.readline() if ready else ""
        assert line.startswith("COMMITTED"), (line, writer.poll())
        # the files as they are on disk this instant: main file and write-ahead log only
        snapshot = tmp_path / "after-power-loss"
        snapshot.mkdir()
        wal = data_dir / "besip.db-wal"
        assert wal.exists() and wal.stat().st_size > 0, \
            "no write-ahead log on disk: this test would not exercise its recovery"
        for name in ("besip.db", "besip.db-wal", "secret.key"):
            if (data_dir / name).exists():
                shutil.copyfile(str(data_dir / name), str(snapshot / name))
    finally:
        writer.kill()
        writer.communicate(timeout=30)

    expected = copy.deepcopy(before)
    expected["system"]["hostname"] = "durable"
    expected["pbx"]["extension"]["150"] = {"number": "150", "display-name": "Durable",
                                           "secret": "Xk9-strong-1"}
    running, candidate, head, _ = _inspect(snapshot, schema)
    assert running == expected and candidate == expected and head == expected
    shown = ok(besip(durability_env, snapshot, "show running-config",
                     "show configuration commit list"))
    assert "system hostname durable" in shown and "pbx extension 150" in shown
    assert "durable" in shown.split("system hostname durable", 1)[1]      # the commit comment
    # the directory the killed writer left behind has it too
    assert _inspect(data_dir, schema)[0] == expected


# --------------------------------------------------------------------------- 3. corruption

def _committed_store(env, directory):
    ok(besip(env, directory, "configure", "system hostname base",
             'pbx extension 100 display-name "Alice" secret Xk9-strong-1', "commit"))


def _assert_clean_refusal(proc, status=None):
    assert "Traceback" not in proc.stderr, proc.stderr
    if status is None:
        assert proc.returncode != 0, (proc.stdout, proc.stderr)
    else:
        assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.startswith("%"), proc.stderr


@pytest.mark.parametrize("damage", ["garbage", "truncated", "header"])
def test_damaged_database_file_is_reported(data_dir, durability_env, damage):
    _committed_store(durability_env, data_dir)
    path = data_dir / "besip.db"
    size = path.stat().st_size
    if damage == "garbage":
        path.write_bytes(random.Random(SEED).randbytes(size))
    elif damage == "truncated":
        with open(str(path), "r+b") as handle:
            handle.truncate(size // 2)
    else:
        with open(str(path), "r+b") as handle:
            handle.write(b"\0" * 100)
    damaged = path.read_bytes()
    proc = besip(durability_env, data_dir, "show running-config")
    _assert_clean_refusal(proc, 2)
    assert str(path) in proc.stderr, proc.stderr
    assert "system hostname" not in proc.stdout
    assert path.read_bytes() == damaged, "besip rewrote the damaged database"


@pytest.mark.parametrize("row", ["running", "candidate"])
def test_hand_edited_datastore_is_refused_not_reset(data_dir, durability_env, row):
    _committed_store(durability_env, data_dir)
    db = sqlite3.connect(str(data_dir / "besip.db"))
    with db:
        changed = db.execute("UPDATE datastore SET data=replace(data, '\"base\"', '\"evil\"') "
                             "WHERE name=?", (row,)).rowcount
    db.close()
    assert changed == 1
    tables = config_tables(data_dir)
    assert '"evil"' in [d for name, _g, _r, d, _h, _c in tables["datastore"] if name == row][0]

    for lines in (["show running-config"],
                  ["show running-config"],                          # still refused the 2nd time
                  ["configure", "system hostname other", "commit"]):  # and no commit over it
        proc = besip(durability_env, data_dir, *lines)
        _assert_clean_refusal(proc)
        assert "modified" in proc.stderr or "checksum" in proc.stderr, proc.stderr
        assert row in proc.stderr and str(data_dir / "besip.db") in proc.stderr, proc.stderr
        assert "evil" not in proc.stdout and "Commit complete" not in proc.stdout
        assert config_tables(data_dir) == tables, "the configuration was changed (reset?) by %r" % lines


@pytest.mark.parametrize("row", ["running", "candidate"])
def test_hand_edited_datastore_can_be_recovered_as_the_message_says(data_dir, durability_env, row):
    _committed_store(durability_env, data_dir)
    ok(besip(durability_env, data_dir, "configure", "system hostname second", "commit"))
    history = db_rows(data_dir, "SELECT * FROM history ORDER BY id")
    db = sqlite3.connect(str(data_dir / "besip.db"))
    with db:
        db.execute("UPDATE datastore SET data=replace(data, '\"second\"', '\"evil\"') "
                   "WHERE name=?", (row,))
    db.close()
    proc = besip(durability_env, data_dir, "show running-config")
    _assert_clean_refusal(proc)
    assert "--recover" in proc.stderr, "the message does not say how to recover: " + proc.stderr

    recovered = subprocess.run([sys.executable, "-m", "besip_cli", "--datastore", str(data_dir),
                                "--recover"], capture_output=True, text=True, env=durability_env,
                               stdin=subprocess.DEVNULL, timeout=60)
    assert recovered.returncode == 0 and "Traceback" not in recovered.stderr, \
        (recovered.returncode, recovered.stdout, recovered.stderr)
    shown = ok(besip(durability_env, data_dir, "show running-config"))
    assert "system hostname second" in shown and "pbx extension 100" in shown and "evil" not in shown
    assert db_rows(data_dir, "SELECT * FROM history ORDER BY id") == history
    # and it is a working datastore again
    ok(besip(durability_env, data_dir, "configure", "system hostname third", "commit"))
    assert "system hostname third" in ok(besip(durability_env, data_dir, "show running-config"))


def test_damaged_secret_key_is_reported_without_traceback(data_dir, durability_env):
    """An empty key (what a kill between creating and writing it would leave) is reported."""
    _committed_store(durability_env, data_dir)
    (data_dir / "secret.key").write_bytes(b"")
    proc = besip(durability_env, data_dir, "show running-config")
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode != 0
    assert "secret.key" in proc.stderr and "%" in proc.stderr, proc.stderr
    assert "Xk9-strong-1" not in proc.stdout
    assert (data_dir / "secret.key").read_bytes() == b"", "the damaged key was replaced"


@pytest.mark.parametrize("kind", ["regular-file", "below-a-file", "read-only-dir"])
def test_unusable_data_directory(tmp_path, durability_env, kind):
    if kind == "regular-file":
        target = tmp_path / "not-a-dir"
        target.write_text("x")
    elif kind == "below-a-file":
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "data"
    else:
        target = tmp_path / "ro"
        target.mkdir()
    with read_only(target) if kind == "read-only-dir" else contextlib.nullcontext():
        proc = besip(durability_env, target, "show running-config")
    _assert_clean_refusal(proc, 2)
    assert str(target) in proc.stderr, proc.stderr
    assert proc.stdout == ""
    if kind == "regular-file":
        assert target.read_text() == "x"


@contextlib.contextmanager
def read_only(directory):
    """DIRECTORY cannot be written while inside: a read-only bind mount (root, who may
    write anywhere else), else chmod 0500; the test is skipped when neither works."""
    directory = str(directory)
    if os.geteuid() != 0:
        os.chmod(directory, 0o500)
        try:
            yield
        finally:
            os.chmod(directory, 0o700)
        return
    if subprocess.run(["mount", "--bind", directory, directory], capture_output=True).returncode:
        pytest.skip("cannot bind-mount %s read-only here" % directory)
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", directory, directory],
                          capture_output=True).returncode:
            pytest.skip("cannot remount %s read-only here" % directory)
        assert not os.access(directory, os.W_OK)
        yield
    finally:
        subprocess.run(["umount", directory], check=True)


def test_read_only_data_directory_shows_but_refuses_changes(data_dir, durability_env):
    _committed_store(durability_env, data_dir)
    shown = ok(besip(durability_env, data_dir, "show running-config"))
    tables = config_tables(data_dir)
    refused = "%s is read-only: the configuration can be shown but not changed" % data_dir
    with read_only(data_dir):
        assert ok(besip(durability_env, data_dir, "show running-config")) == shown
        assert "base" in ok(besip(durability_env, data_dir, "show running-config | display json"))
        assert "1 " in ok(besip(durability_env, data_dir, "show configuration commit list"))
        proc = besip(durability_env, data_dir, "configure", "system hostname other", "commit")
        assert proc.returncode == 1 and proc.stderr == "-c:1: %% %s\n" % refused, proc.stderr
        proc = subprocess.run(argv(data_dir) + ["--recover"], capture_output=True,
                              text=True, env=durability_env, stdin=subprocess.DEVNULL, timeout=60)
        _assert_clean_refusal(proc, 2)
        assert proc.stderr == "%% %s\n" % refused
    assert config_tables(data_dir) == tables
    ok(besip(durability_env, data_dir, "configure", "system hostname other", "commit"))


def _netconf(env, directory, *rpcs):
    """The replies of the real `besip-netconf` to RPCS (one session, base:1.0 framing)."""
    hello = ('<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>'
             'urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>')
    body = "".join('<rpc message-id="%d" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">%s'
                   '</rpc>]]>]]>' % (n, rpc) for n, rpc in enumerate(rpcs + ("<close-session/>",), 1))
    proc = subprocess.run([sys.executable, "-m", "besip_cli.netconf.stdio", "--datastore",
                           str(directory)], input=hello + body, capture_output=True, text=True,
                          env=dict(env, USER="root"), timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout.split("]]>]]>")[1:-1]


def test_netconf_on_a_read_only_directory_gets_rpc_errors_not_a_dropped_session(
        data_dir, durability_env):
    if os.geteuid() != 0:
        pytest.skip("the NETCONF user must be the directory's owner, root here")
    _committed_store(durability_env, data_dir)
    edit = ('<edit-config><target><candidate/></target><config><system xmlns="urn:besip:params:xml:ns:yang:besip-system">'
            '<hostname>other</hostname></system></config></edit-config>')
    get = "<get-config><source><running/></source></get-config>"
    with read_only(data_dir):
        replies = _netconf(durability_env, data_dir, get, edit, "<commit/>", get)
    assert len(replies) == 5, replies                   # every rpc answered, close-session too
    assert "<error-tag>operation-failed</error-tag>" in replies[0]     # no secrets key yet
    assert "cannot create the secrets key" in replies[0]
    for reply in replies[1:3]:
        assert "<error-tag>resource-denied</error-tag>" in reply, reply
        assert "is read-only" in reply
    ok(besip(durability_env, data_dir, "show running-config"))         # makes the key
    with read_only(data_dir):
        replies = _netconf(durability_env, data_dir, get)
    assert "<hostname>base</hostname>" in replies[0] and "<ok/>" in replies[1]


def test_damaged_history_entries_are_named_and_recover_skips_them(data_dir, durability_env):
    _committed_store(durability_env, data_dir)                         # commit 1
    for name in ("second", "third", "fourth"):                         # commits 2, 3, 4
        ok(besip(durability_env, data_dir, "configure", "system hostname " + name, "commit"))
    db = sqlite3.connect(str(data_dir / "besip.db"))
    with db:
        db.execute("UPDATE history SET data=x'00010203' WHERE id IN (2, 4)")
    db.close()
    damaged = "%% commit %d in %s is damaged (Error -3 while decompressing data: incorrect header check)"
    path = data_dir / "besip.db"
    for lines, where in ((["show configuration commit changes 2"], "-c:1: "),
                         (["configure", "rollback 2"], "-c:2: "),
                         (["configure", "show | compare rollback 2"], "-c:2: ")):
        proc = besip(durability_env, data_dir, *lines)
        assert proc.returncode == 1 and proc.stderr == where + damaged % (2, path) + "\n", proc.stderr
    assert "system hostname fourth" in ok(besip(durability_env, data_dir, "show running-config"))

    recovered = subprocess.run(argv(data_dir) + ["--recover"], capture_output=True, text=True,
                               env=durability_env, stdin=subprocess.DEVNULL, timeout=60)
    assert recovered.returncode == 0, (recovered.stdout, recovered.stderr)
    assert recovered.stdout == "Running and candidate restored from commit 3.\n"
    assert recovered.stderr == "% Skipped: " + damaged[3:] % (4, path) + "\n"
    assert "system hostname third" in ok(besip(durability_env, data_dir, "show running-config"))


@contextlib.contextmanager
def small_filesystem(path, size="2m"):
    """A tmpfs of SIZE mounted on PATH (root only; the test is skipped elsewhere)."""
    path.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs",
                                            str(path)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def _fill(filesystem, leave):
    """Fill FILESYSTEM until at most LEAVE bytes are free; the filler's path."""
    filler = os.path.join(str(filesystem), "filler")
    with open(filler, "wb") as handle:
        try:
            while os.statvfs(str(filesystem)).f_bavail * os.statvfs(str(filesystem)).f_frsize > leave:
                handle.write(b"\0" * 4096)
                handle.flush()
        except OSError:
            pass
    return filler


def _without_notices(text):
    """TEXT less the `% ...` notices (an interrupted commit's files generated again)."""
    return "".join(line for line in text.splitlines(True) if not line.startswith("% "))


def test_nearly_full_disk_refuses_the_commit_and_loses_nothing(tmp_path, durability_env):
    """At each amount of free space a big commit either completes or says there is not
    enough space; the configuration shows while the disk is full, and afterwards it is
    intact and the programs' files describe it."""
    with small_filesystem(tmp_path / "small") as small:
        directory = small / "data"
        _committed_store(durability_env, directory)
        base = ok(besip(durability_env, directory, "show running-config"))
        asterisk = directory / "root" / "etc" / "asterisk"
        outcomes = []
        for leave_kib in (0, 48, 96, 160, 256, 1024):
            lines = ["configure"] + ['pbx extension %d display-name "Person %d of a big office" '
                                     "secret Sec-ret-%05d" % (3000 + i, i, i) for i in range(200)]
            filler = _fill(small, leave_kib * 1024)
            proc = besip(durability_env, directory, *(lines + ["commit"]))
            assert "Traceback" not in proc.stderr, proc.stderr
            committed = "Commit complete." in proc.stdout
            if not committed:
                assert ("%% Not enough space on %s: nothing was committed" % directory) in proc.stderr, \
                    (leave_kib, proc.stdout, proc.stderr)
                shown = ok(besip(durability_env, directory, "show running-config"))
                assert _without_notices(shown) == base       # reading works on a full disk
            os.unlink(filler)
            shown = _without_notices(ok(besip(durability_env, directory, "show running-config")))
            assert ("pbx extension 3199" in shown) == committed
            assert shown == base or committed
            dialplan = "".join(p.read_text() for p in asterisk.glob("extensions*/*.conf"))
            assert ("3199" in dialplan) == committed, leave_kib
            assert db_rows(directory, "PRAGMA integrity_check") == [("ok",)]
            outcomes.append(committed)
            if committed:
                ok(besip(durability_env, directory, "configure", "rollback 1", "commit"))
        assert outcomes[0] is False and outcomes[-1] is True, outcomes


# --------------------------------------------------------------------------- 4. confirmed commit

def _pending(directory):
    rows = db_rows(directory, "SELECT commit_id, deadline, timer_pid FROM pending_confirm")
    return rows[0] if rows else None


def _timer_of(directory):
    """The pid of DIRECTORY's confirm timer as stored, checked to be that very process."""
    end = time.monotonic() + 5
    while time.monotonic() < end:
        pending = _pending(directory)
        assert pending is not None, "no pending confirmed commit"
        pid = pending[2]
        args = proc_cmdline(pid) if pid else []
        if CONFIRM_MODULE in args and args[-1] == str(directory):
            return pid
        time.sleep(0.05)
    pytest.fail("no confirm timer process runs for %s (timer_pid %r)" % (directory, pending[2]))


def _sleep_until(deadline, margin):
    time.sleep(max(0.0, deadline + margin - time.time()))


def test_confirmed_commit_rolls_back_after_restart(data_dir, durability_env):
    ok(besip(durability_env, data_dir, "configure", "system hostname base", "commit"))
    out = ok(besip(durability_env, data_dir, "configure", "system hostname trial",
                   'pbx extension 120 display-name "Trial" secret Xk9-strong-1',
                   "commit confirmed 3s"))
    assert "Commit complete." in out
    _commit_id, deadline, _ = _pending(data_dir)
    assert 0.5 < deadline - time.time() <= 3.5, "the deadline is not ~3s ahead (or too slow a machine)"

    # the box reboots: the timer dies with it (and no other timer may be running)
    pid = _timer_of(data_dir)
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    assert confirm_timers(data_dir) == []

    _sleep_until(deadline, 0.5)
    # nothing reverted it while the box was "down"
    running = db_rows(data_dir, "SELECT data FROM datastore WHERE name='running'")[0][0]
    assert '"trial"' in running, "the change was reverted although the timer was dead"

    shown = ok(besip(durability_env, data_dir, "show running-config"))
    assert "system hostname base" in shown, shown
    assert "trial" not in shown and "pbx extension 120" not in shown
    history = ok(besip(durability_env, data_dir, "show configuration commit list"))
    assert "automatic rollback" in history, history
    assert "confirmed-pending" not in history
    assert _pending(data_dir) is None
    candidate = db_rows(data_dir, "SELECT data FROM datastore WHERE name='candidate'")[0][0]
    assert '"trial"' not in candidate


def _reboot_before_deadline(env, directory, seconds):
    """Commit a change confirmed within SECONDS, then kill its timer as a reboot would
    (waiting until its pid is gone altogether); (deadline, killed pid)."""
    ok(besip(env, directory, "configure", "system hostname base", "commit"))
    ok(besip(env, directory, "configure", "system hostname trial", "commit confirmed %ds" % seconds))
    _commit_id, deadline, _ = _pending(directory)
    pid = _timer_of(directory)
    os.kill(pid, signal.SIGKILL)
    if not wait_reaped(pid, 3.0):
        pytest.skip("the killed timer (pid %d) is not reaped here: cannot simulate a reboot" % pid)
    return deadline, pid


def _assert_reverted_on_time(env, directory, deadline, timer):
    """With no besip start after the deadline, TIMER reverts the commit."""
    _sleep_until(deadline, 1.5)                        # the timer wakes at least each second
    assert wait_gone(timer, 3.0), "the restarted timer did not finish"
    running = db_rows(directory, "SELECT data FROM datastore WHERE name='running'")[0][0]
    assert '"base"' in running and '"trial"' not in running, "not rolled back on time"
    assert _pending(directory) is None
    assert "automatic rollback" in ok(besip(env, directory, "show configuration commit list"))


def test_confirmed_commit_timer_restarted_by_a_start_before_the_deadline(data_dir, durability_env):
    """After a reboot before the deadline, the first besip start restarts the timer, which
    then reverts on time with no further besip start."""
    deadline, pid = _reboot_before_deadline(durability_env, data_dir, 5)
    shown = ok(besip(durability_env, data_dir, "show running-config"))
    assert "system hostname trial" in shown
    assert time.time() < deadline - 0.5, "the machine was too slow to start besip before the deadline"
    restarted = _timer_of(data_dir)
    assert restarted != pid and confirm_timers(data_dir) == [restarted]
    _assert_reverted_on_time(durability_env, data_dir, deadline, restarted)


def test_confirmed_commit_timer_restarted_when_its_pid_was_reused(data_dir, durability_env):
    deadline, _pid = _reboot_before_deadline(durability_env, data_dir, 5)
    # after the reboot an unrelated process got the timer's old pid
    other = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL)
    try:
        db = sqlite3.connect(str(data_dir / "besip.db"))
        with db:
            db.execute("UPDATE pending_confirm SET timer_pid=?", (other.pid,))
        db.close()
        ok(besip(durability_env, data_dir, "show running-config"))
        assert time.time() < deadline - 0.5, "the machine was too slow to start besip before the deadline"
        timers = confirm_timers(data_dir)
        assert len(timers) == 1, "no confirm timer runs after the restart: %r" % timers
        _assert_reverted_on_time(durability_env, data_dir, deadline, timers[0])
    finally:
        other.kill()
        other.wait(timeout=10)


def test_confirmed_commit_confirmed_in_time_stays(data_dir, durability_env):
    ok(besip(durability_env, data_dir, "configure", "system hostname base", "commit"))
    ok(besip(durability_env, data_dir, "configure", "system hostname kept",
             'pbx extension 121 display-name "Kept" secret Xk9-strong-1', "commit confirmed 4s"))
    _commit_id, deadline, _ = _pending(data_dir)
    pid = _timer_of(data_dir)
    assert deadline - time.time() > 1.0, "too slow to confirm in time"
    ok(besip(durability_env, data_dir, "configure", "commit"))      # the confirming commit
    assert time.time() < deadline, "the machine was too slow to confirm before the deadline"
    assert _pending(data_dir) is None

    _sleep_until(deadline, 1.5)                                     # the timer wakes each second
    running = db_rows(data_dir, "SELECT data FROM datastore WHERE name='running'")[0][0]
    assert '"kept"' in running
    shown = ok(besip(durability_env, data_dir, "show running-config"))
    assert "system hostname kept" in shown and "pbx extension 121" in shown
    history = ok(besip(durability_env, data_dir, "show configuration commit list"))
    assert "automatic rollback" not in history and "confirmed-pending" not in history
    assert wait_gone(pid, 3.0), "the confirm timer keeps running after the commit was confirmed"
