"""The datastore API: edits, incremental validation, shared candidate, locks, commits."""

import copy
import random
import time

import pytest

from besip_cli.datastore import tree as T
from besip_cli.datastore.session import DatastoreError, Session
from besip_cli.datastore.validate import validate
from conftest import EXAMPLE


def _office(session):
    from besip_cli.shell import script
    import io
    lines = [(EXAMPLE, n, t.rstrip("\n")) for n, t in enumerate(open(EXAMPLE), 1)]
    assert script.run(session, lines, io.StringIO(), io.StringIO()) == 0


def test_edit_operations(session):
    schema = session.schema
    ext = ("pbx", ("extension", "100"))
    session.edit(lambda t: T.set_leaf(t, schema, ext, schema.find(("pbx", "extension", "secret")), "Secret-100"))
    codec = schema.find(("pbx", "extension", "codec"))
    session.edit(lambda t: T.set_leaf(t, schema, ext, codec, ["pcmu", "opus"]))
    session.edit(lambda t: T.set_leaf(t, schema, ext, codec, ["pcmu", "g722"]))
    assert session.candidate["pbx"]["extension"]["100"]["codec"] == ["pcmu", "opus", "g722"]
    session.edit(lambda t: T.replace_leaf_list(t, schema, ext, codec, ["g722", "pcmu"]))
    assert session.candidate["pbx"]["extension"]["100"]["codec"] == ["g722", "pcmu"]
    with pytest.raises(T.EditError) as info:
        session.edit(lambda t: T.delete(t, schema, ext + ("display-name",), missing_ok=False))
    assert info.value.tag == "data-missing"
    session.edit(lambda t: T.delete(t, schema, ext))
    assert "pbx" not in session.candidate           # empty non-presence containers vanish
    # a failed edit leaves the candidate untouched
    before = copy.deepcopy(session.candidate)
    with pytest.raises(T.EditError):
        session.edit(lambda t: (T.ensure(t, schema, ext), T.delete(t, schema, ("system",), missing_ok=False)))
    assert session.candidate == before


def test_choice_and_values(session):
    schema = session.schema
    route = ("pbx", ("route", "r"))
    session.edit(lambda t: T.set_leaf(t, schema, route, schema.find(("pbx", "route", "trunk")), "x"))
    session.edit(lambda t: T.set_leaf(t, schema, route, schema.find(("pbx", "route", "extension")), "100"))
    assert "trunk" not in session.candidate["pbx"]["route"]["r"]
    leaf = schema.find(("pbx", "extension", "call-limit"))
    assert session.check_value(leaf, "07") == "7"       # canonical form from libyang
    with pytest.raises(ValueError, match="range"):
        session.check_value(leaf, "40")
    pw = schema.find(("system", "user", "password"))
    assert session.check_value(pw, "Clear-pass1").startswith("$6$")
    secret = schema.find(("pbx", "extension", "secret"))
    tree = {"pbx": {"extension": {"100": {"number": "100", "secret": "Clear-pass1"}}}}
    token = session.concealed(tree)["pbx"]["extension"]["100"]["secret"]
    assert token.startswith("$9$") and session.check_value(secret, token) == "Clear-pass1"
    assert session.concealed(tree)["pbx"]["extension"]["100"]["secret"] == token  # stable
    assert tree["pbx"]["extension"]["100"]["secret"] == "Clear-pass1"             # not changed


MUTATIONS = [
    lambda t: t["pbx"].__setitem__("mode", "proxy"),
    lambda t: t["pbx"].pop("trunk"),
    lambda t: t["pbx"]["extension"]["100"].pop("secret"),
    lambda t: t["pbx"]["extension"]["101"].__setitem__("display-name", "Bobby"),
    lambda t: t["pbx"]["extension"].pop("100"),
    lambda t: t["pbx"]["route"]["national"].__setitem__("priority", "200"),
    lambda t: t["pbx"]["route"]["national"].__setitem__("pattern", "00X."),
    lambda t: t["pbx"]["route"]["emergency"].pop("trunk"),
    lambda t: t["pbx"]["route"].__setitem__("local", {"name": "local", "pattern": "1XX", "extension": "100"}),
    lambda t: t["pbx"]["route"].__setitem__("ghost", {"name": "ghost", "pattern": "9X", "extension": "999"}),
    lambda t: t["pbx"].setdefault("rtp", {}).__setitem__("port-min", "30000"),
    lambda t: t["pbx"]["trunk"]["provider1"].pop("username"),
    lambda t: t["system"]["user"]["reception"].pop("password"),
    lambda t: t["system"].setdefault("services", {}).setdefault("ssh", {}).__setitem__("port", "830"),
    lambda t: t["pbx"]["extension"]["102"].__setitem__("voicemail", {}),
    lambda t: t["pbx"]["extension"].__setitem__("555", {"number": "555", "secret": "Secret-555"}),
    lambda t: t.pop("pbx"),
    lambda t: t["system"].pop("user"),
]


def test_incremental_validation_agrees_with_full(session):
    """Random mutations of a valid configuration: validating only what changed must find
    a problem exactly when validating everything does, at the same offenders."""
    _office(session)
    running = session.running
    rng = random.Random(7)
    mismatches = []
    seen_invalid = 0
    for _ in range(120):
        cand = copy.deepcopy(running)
        picks = rng.sample(range(len(MUTATIONS)), rng.randint(1, 3))
        for i in picks:
            try:
                MUTATIONS[i](cand)
            except KeyError:
                pass
        fast = validate(session.schema, session.engine, running, cand)
        full = validate(session.schema, session.engine, running, cand, full=True)
        seen_invalid += bool(full)
        if bool(fast) != bool(full) or {repr(p.path) for p in fast} != {repr(p.path) for p in full}:
            mismatches.append((picks, fast, full))
    assert seen_invalid > 30
    assert mismatches == []


def test_shared_candidate_and_dirty_lock(session, tmp_path):
    other = Session(session.directory, user="bob", client="netconf")
    try:
        hostname = session.schema.find(("system", "hostname"))
        session.edit(lambda t: T.set_leaf(t, session.schema, ("system",), hostname, "shared"))
        other.refresh()
        assert other.candidate["system"]["hostname"] == "shared"
        assert other.changed_by == ["tester (test %d)" % session.id]
        with pytest.raises(DatastoreError) as info:
            other.lock("candidate")
        assert info.value.tag == "resource-denied" and "tester" in str(info.value)
        session.discard()
        other.lock("candidate")
        with pytest.raises(DatastoreError) as info:
            session.lock("candidate")
        assert info.value.tag == "lock-denied" and info.value.info["session-id"] == other.id
        with pytest.raises(DatastoreError) as info:
            session.edit(lambda t: T.set_leaf(t, session.schema, ("system",), hostname, "x"))
        assert info.value.tag == "in-use" and "bob (netconf session %d" % other.id in str(info.value)
        with pytest.raises(DatastoreError):
            session.commit()
        other.unlock("candidate")
        session.edit(lambda t: T.set_leaf(t, session.schema, ("system",), hostname, "x"))
        assert session.commit(comment="c1") is not None
        other.refresh()
        assert other.running["system"]["hostname"] == "x"
    finally:
        other.close()


def test_commit_history_and_concurrent_commit(session):
    hostname = session.schema.find(("system", "hostname"))
    session.edit(lambda t: T.set_leaf(t, session.schema, ("system",), hostname, "h1"))
    first = session.commit(comment="first", label="L1")
    (cid, when, user, client, comment, label), = session.store.history(1)
    assert (cid, user, client, comment, label) == (first, "tester", "test", "first", "L1")
    assert abs(when - time.time()) < 60
    assert session.commit() is None                       # nothing changed
    other = Session(session.directory, user="bob", client="cli")
    try:
        with other._commit_lock():
            with pytest.raises(DatastoreError, match="another commit is in progress.*bob"):
                session.edit(lambda t: T.set_leaf(t, session.schema, ("system",), hostname, "h2"))
                session.commit()
    finally:
        other.close()
    assert session.commit() is not None


def test_confirmed_commit_reverts_by_itself(session):
    hostname = session.schema.find(("system", "hostname"))
    session.edit(lambda t: T.set_leaf(t, session.schema, ("system",), hostname, "stable"))
    session.commit()
    session.edit(lambda t: T.set_leaf(t, session.schema, ("system",), hostname, "risky"))
    session.commit(confirmed=2)
    assert session.running["system"]["hostname"] == "risky"
    deadline = time.time() + 30
    while time.time() < deadline and session.store.pending():
        time.sleep(0.2)
    session.refresh()
    assert session.running["system"]["hostname"] == "stable"
    assert "not confirmed" in session.store.history(1)[0][4]
    assert session.candidate == session.running


def test_confirmed_commit_with_persist_id(session):
    hostname = session.schema.find(("system", "hostname"))
    session.edit(lambda t: T.set_leaf(t, session.schema, ("system",), hostname, "p1"))
    session.commit(confirmed=60, persist="token-1")
    with pytest.raises(DatastoreError, match="persist"):
        session.commit()
    pending = session.pending()
    assert (pending.persist, pending.session) == ("token-1", session.id)
    assert pending.commit_id == session.revision and pending.deadline > time.time()
    session.commit(persist_id="token-1")                    # confirms
    assert session.store.pending() is None
    assert session.running["system"]["hostname"] == "p1"
    session.edit(lambda t: T.set_leaf(t, session.schema, ("system",), hostname, "p2"))
    session.commit(confirmed=60, persist="token-2")
    assert session.revert_pending(cancelled=True)           # cancel-commit
    assert session.running["system"]["hostname"] == "p1"


def test_datastore_of_an_earlier_build_is_upgraded(tmp_path, env):
    import sqlite3
    first = Session(str(tmp_path / "old"), user="t", client="test")
    first.close()
    db = sqlite3.connect(str(tmp_path / "old" / "besip.db"))
    db.execute("ALTER TABLE pending_confirm DROP COLUMN timer_start")    # as format 1 began
    db.commit()
    db.close()
    again = Session(str(tmp_path / "old"), user="t", client="test")
    try:
        assert again.store.pending() is None
        hostname = again.schema.find(("system", "hostname"))
        again.edit(lambda t: T.set_leaf(t, again.schema, ("system",), hostname, "upgraded"))
        again.commit(confirmed=60)
        assert again.pending().timer_start != ""            # the timer's start time is kept
        again.commit()
    finally:
        again.close()


def test_private_candidate_rebase_and_conflicts(session, tmp_path):
    """The three-way merge of a private candidate: others' commits are taken over; a change
    at, above or below a node the other commit changed conflicts unless both agree; a failed
    edit leaves the private candidate as it was."""
    _office(session)
    other = Session(session.directory, user="other", client="test")
    try:
        session.configure()
        name = ("pbx", ("extension", "100"), "display-name")
        node = session.schema.find(("pbx", "extension", "display-name"))
        session.edit(lambda t: T.set_leaf(t, session.schema, name[:-1], node, "Mine"))
        other.edit(lambda t: T.set_leaf(t, other.schema, ("pbx", ("extension", "101")), node, "Same"))
        other.commit()
        session.refresh()                                  # rebased: theirs is in ours
        assert T.get(session.candidate, ("pbx", ("extension", "101"), "display-name")) == "Same"
        assert [c.path for c in T.diff(session.running, session.candidate, session.schema.roots)] == [name]
        with pytest.raises(T.EditError):
            session.edit(lambda t: (T.delete(t, session.schema, name), T.delete(
                t, session.schema, ("pbx", ("trunk", "nope")), missing_ok=False)))
        assert T.get(session.candidate, name) == "Mine"
        other.edit(lambda t: T.delete(t, other.schema, ("pbx", ("extension", "100"))))
        other.commit()                                     # removes the entry we edit
        session.refresh()
        assert session.conflicts == [name] and "changed what you are editing" in session.notices[-1]
        with pytest.raises(DatastoreError) as info:
            session.commit()
        assert "both changed pbx extension 100 display-name" in str(info.value)
        assert session.update() == [name]
        assert "100" not in session.candidate["pbx"]["extension"] and not session.dirty()
        session.edit(lambda t: T.set_leaf(t, session.schema, ("pbx", ("extension", "101")), node, "Same"))
        assert not session.dirty()                          # the same value: no change
    finally:
        other.close()
