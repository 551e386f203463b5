"""A client session on the datastore: what every front-end (shell, script, NETCONF) uses.

Running and the shared candidate (RFC 6241, what NETCONF edits) are seen by all sessions
of all processes: each command reloads what another process changed; commits are
serialised by a file lock; locks, sessions and a pending confirmed commit live in the
database, so they are seen by everyone and survive a restart (a lock dies with the process
that held it). The shell and scripts edit a private candidate instead (IOS-XR, ConfD): the
session's own copy of running, rebased onto running whenever another session commits,
and refused at commit when both changed the same node.
"""

import contextlib
import errno
import fcntl
import os
import subprocess
import sys
import threading
import time

from .. import audit
from .. import schema as schema_mod
from .. import services
from . import tree as T
from .secrets import Keyring, SecretError, hash_password
from .store import Store, StoreError, alive
from .validate import validate

TARGETS = ("running", "candidate")
ROLLBACK = "automatic rollback: commit "      # the comment of a confirmed commit's revert


class DatastoreError(Exception):
    """A refused operation. TAG is the NETCONF error-tag; PROBLEMS lists commit offenders."""

    def __init__(self, message, tag="operation-failed", problems=(), info=None):
        super().__init__(message)
        self.tag = tag
        self.problems = list(problems)
        self.info = info or {}


def default_directory():
    """BESIP_HOME, else the per-user data directory."""
    if os.environ.get("BESIP_HOME"):
        return os.environ["BESIP_HOME"]
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "besip")


class Session:
    def __init__(self, directory=None, user=None, client="cli", peer="", schema=None,
                 watch_pending=True):
        self.directory = directory or default_directory()
        self.schema = schema or schema_mod.load()
        self.store = Store(self.directory, self.schema)
        self.user = user or _login_name()
        self.client = client
        self.id = self.store.open_session(self.user, client, peer)
        self.keyring = Keyring(self.directory)
        self._engine = None
        self._gen = {"running": None, "candidate": None}
        self.running = {}
        self.candidate = {}
        self.changed_by = []
        self.batch_depth = 0
        self.batch_dirty = False
        self.batch_locked = False      # inside a batch: we hold the candidate lock
        self.private = False           # editing a candidate of our own (configure)
        self.exclusive = False         # ... and holding the running lock meanwhile
        self.base = None               # private: the running tree our candidate is based on
        self.conflicts = []            # private: paths where running and we both changed
        self.installed = None          # the tree this session's last commit made running
        self.notices = []              # messages for the user (confirmed-commit reverts...)
        with self.store.transaction():
            self.store.reap_sessions()
        self.refresh()
        if watch_pending:
            self.reconcile()
            self.check_pending()

    # ---------------------------------------------------------------- basics

    @property
    def engine(self):
        if self._engine is None:
            from .values import engine
            self._engine = engine(self.schema)
        return self._engine

    @property
    def label(self):
        return "%s (%s session %d, pid %d)" % (self.user, self.client, self.id, os.getpid())

    def refresh(self):
        """Reload the datastores another session changed since we last looked (inside a
        batch, or with a private candidate, the candidate stays ours); a private
        candidate is rebased onto the new running."""
        if self.store.generation("running") != self._gen["running"]:
            self._reload("running")
            if self.private:
                self._rebase()
        if not (self.batch_depth or self.private) and \
                self.store.generation("candidate") != self._gen["candidate"]:
            self._reload("candidate")

    def _rebase(self):
        """Carry our private changes over to the new running, unless they conflict."""
        if self.base is self.running:
            return
        merged, conflicts = T.rebase(self.base, self.candidate, self.running, self.schema)
        if conflicts:
            if conflicts != self.conflicts:
                self.notices.append(
                    "commit %d by another session changed what you are editing (%s): 'commit' "
                    "is refused; 'update' takes running's values there and keeps your other "
                    "changes" % (self.revision, _paths(conflicts)))
            self.conflicts = conflicts
            return
        self.candidate, self.base, self.conflicts = merged, self.running, []

    def update(self):
        """Rebase the private candidate onto running, running's values winning where
        both changed: the paths where our change was dropped."""
        self.refresh()
        if not self.private or self.base is self.running:
            return []
        self.candidate, dropped = T.rebase(self.base, self.candidate, self.running, self.schema)
        self.base, self.conflicts = self.running, []
        return dropped

    def configure(self, how="private"):
        """Start editing: HOW is private (a candidate of our own), exclusive (private,
        and nobody else may commit meanwhile) or shared (the RFC 6241 candidate)."""
        if self.store.read_only:
            raise StoreError(self.store.read_only, tag="resource-denied")
        self.refresh()
        if how == "exclusive":
            self.lock("running")
            self.exclusive = True
        if how != "shared":
            self.private = True
            self.candidate, self.base, self.conflicts = T.copy_tree(self.running), self.running, []

    def leave(self):
        """Stop editing: a private candidate is dropped, an exclusive lock released."""
        if self.exclusive:
            with contextlib.suppress(DatastoreError, StoreError):
                self.unlock("running")
            self.exclusive = False
        if self.private:
            self.private, self.base, self.conflicts = False, None, []
            self._gen["candidate"] = None
            self.refresh()

    def _reload(self, name):
        data, gen, revision, changed_by = self.store.load(name)
        setattr(self, name, data)
        self._gen[name] = gen
        if name == "running":
            self.revision = revision
        else:
            self.changed_by = changed_by

    def close(self):
        with contextlib.suppress(StoreError, Exception):
            self.store.close_session(self.id)
        self.store.close()

    def dirty(self):
        """Whether the candidate holds changes not committed."""
        return self.candidate != (self.base if self.private else self.running)

    def shared_changes(self):
        """Who changed the shared candidate since its last commit ([]: nobody)."""
        return self.store.changed_by("candidate")

    @property
    def role(self):
        """This session's user's role (admin, operator, monitor) or None."""
        from ..auth import role
        return role(self.running, self.user, self.directory)

    # ---------------------------------------------------------------- values

    def check_value(self, node, text):
        """The canonical stored form of TEXT typed for leaf NODE; ValueError if refused."""
        if node.secret == "encrypt" and text.startswith("$9$"):
            try:
                text = self.keyring.reveal(text)
            except SecretError as exc:
                raise ValueError(str(exc))
        elif node.secret == "hash" and not text.startswith("$"):
            text = hash_password(text)
        return self.engine.check(node, text)

    def concealed(self, tree, portable=False):
        """TREE for output: its SIP secrets as tokens (see Keyring.conceal); PORTABLE:
        tokens under the export passphrase ($BESIP_PASSPHRASE)."""
        return self.keyring.conceal(tree, self.schema, portable)

    # ---------------------------------------------------------------- locks

    def holder(self, target):
        """Description of another session's lock on TARGET, or None."""
        self.store.reap_sessions()
        row = self.store.lock_holder(target)
        if row is None or row[0] == self.id:
            return None
        session, user, client, pid, since = row
        return "%s (%s session %d, pid %d) since %s" % (
            user, client, session, pid, time.strftime("%H:%M:%S", time.localtime(since)))

    def holds(self, target):
        row = self.store.lock_holder(target)
        return row is not None and row[0] == self.id

    def _check_unlocked(self, *targets):
        for target in targets:
            holder = self.holder(target)
            if holder:
                raise DatastoreError("the %s configuration is locked by %s" % (target, holder),
                                     tag="in-use",
                                     info={"session-id": self.store.lock_holder(target)[0]})

    def lock(self, target, force_dirty=False):
        """Lock TARGET for this session (RFC 6241 7.5 rules)."""
        with self.store.transaction():
            self.store.reap_sessions()
            row = self.store.lock_holder(target)
            if row is not None:
                raise DatastoreError("the %s configuration is already locked by %s"
                                     % (target, self.holder(target) or "this session"),
                                     tag="lock-denied", info={"session-id": row[0]})
            self.refresh()
            if target == "candidate" and self.dirty() and not force_dirty:
                raise DatastoreError("the candidate has uncommitted changes by %s; commit or "
                                     "discard them first" % (", ".join(self.changed_by) or "another session"),
                                     tag="resource-denied")
            self.store.take_lock(target, self.id)

    def unlock(self, target):
        with self.store.transaction():
            if not self.store.drop_lock(target, self.id):
                raise DatastoreError("the %s configuration is not locked by this session" % target,
                                     tag="operation-failed")

    # ---------------------------------------------------------------- candidate edits

    @contextlib.contextmanager
    def batch(self):
        """Edits inside are applied to memory only and stored once at the end."""
        self.refresh()
        self.batch_depth += 1
        try:
            yield
        finally:
            self.batch_depth -= 1
            self.batch_locked = False
        if not self.batch_depth and self.batch_dirty:
            self.store_candidate()

    def edit(self, change):
        """Apply CHANGE(candidate_tree) to the candidate. Outside a batch, read, change and
        store are one transaction, so concurrent edits are never lost. If CHANGE raises, the
        candidate is reloaded as last stored (inside a batch, the batch's edits go too)."""
        if self.private:
            self.refresh()
            saved = None if self.batch_depth else T.copy_tree(self.candidate)
            try:
                change(self.candidate)
            except BaseException:
                if saved is not None:
                    self.candidate = saved
                raise
            return
        try:
            if self.batch_depth:
                self.refresh()
                if not self.batch_locked:
                    self._check_unlocked("candidate")
                    self.batch_locked = self.holds("candidate")
                change(self.candidate)
                self.batch_dirty = True
                return
            with self.store.transaction():
                self.refresh()
                self._check_unlocked("candidate")
                change(self.candidate)
                self.store_candidate()
        except BaseException:
            self._gen["candidate"] = None
            self.batch_dirty = False
            self._reload("candidate")
            raise

    def store_candidate(self):
        with self.store.transaction():
            if self.store.generation("candidate") != self._gen["candidate"]:
                holder = self.holder("candidate")
                if holder:
                    raise DatastoreError("the candidate configuration is locked by %s" % holder,
                                         tag="in-use")
            me = "%s (%s %d)" % (self.user, self.client, self.id)
            if self.dirty():
                changed_by = self.changed_by + ([me] if me not in self.changed_by else [])
            else:
                changed_by = []
            self.store.save("candidate", self.candidate, changed_by)
            self._gen["candidate"] = self.store.generation("candidate")
            self.changed_by = changed_by
        self.batch_dirty = False

    def replace_candidate(self, new_tree):
        self.edit(lambda tree: (tree.clear(), tree.update(T.copy_tree(new_tree))))

    def discard(self):
        """Throw away uncommitted changes: candidate := running."""
        self.replace_candidate(T.copy_tree(self.running))
        if self.private:
            self.base, self.conflicts = self.running, []

    def load_revision(self, index):
        """Load revision INDEX (0 = running, 1 = the one before...) into the candidate."""
        rows = self.store.history(index + 1)
        if index >= len(rows):
            raise DatastoreError("there is no rollback %d (%d revisions kept)" % (index, len(rows)),
                                 tag="invalid-value")
        self.replace_candidate(self.store.revision(rows[index][0]))
        audit.rollback_loaded(self, index, rows[index][0])

    # ---------------------------------------------------------------- commit

    def check(self):
        """Problems that would refuse a commit of the candidate (empty if none); if there
        are none, the services' verify step runs too and its refusal is raised."""
        self.refresh()
        changes = T.diff(self.running, self.candidate, self.schema.roots)
        problems = validate(self.schema, self.engine, self.running, self.candidate, changes=changes)
        if not problems:
            try:
                services.verify_commit(self.running, self.candidate, changes, self.schema,
                                       self.directory)
            except services.ServiceError as exc:
                raise DatastoreError("Validation failed: %s" % exc, tag="operation-failed")
        return problems

    def commit(self, comment="", label="", confirmed=None, persist=None, persist_id=None):
        """Make the candidate running. CONFIRMED is a timeout in seconds: the commit is
        reverted unless confirmed in time. Returns the new commit id (None: no change)."""
        with self._commit_lock():
            self.refresh()
            self._check_unlocked("running", "candidate")
            if self.conflicts:
                raise DatastoreError(
                    "commit refused: running changed since you started editing, and both "
                    "changed %s; 'update' takes running's values there" % _paths(self.conflicts),
                    tag="in-use")
            pending = self.store.pending()
            self._may_confirm(pending, persist_id)
            changes = T.diff(self.running, self.candidate, self.schema.roots)
            problems = validate(self.schema, self.engine, self.running, self.candidate,
                                changes=changes)
            if problems:
                raise DatastoreError("%d problem%s in the candidate" % (len(problems), "s" * (len(problems) > 1)),
                                     problems=problems)
            new = T.copy_tree(self.candidate) if changes else self.running
            commit_id = self.install(new, comment, label, changes=changes, of_candidate=True)
            with self.store.transaction():
                if confirmed:
                    restore = pending.restore_id if pending else (self.revision_before(commit_id))
                    self.store.set_pending(commit_id or self.revision, restore,
                                           time.time() + confirmed, persist, self.id)
                elif pending:
                    self.store.clear_pending()
            if confirmed:
                self._spawn_timer()
            return commit_id

    def pending(self):
        """The pending confirmed commit (a store.Pending), or None."""
        return self.store.pending()

    def _may_confirm(self, pending, persist_id):
        """Refuse a commit that may not confirm PENDING (RFC 6241 8.4): with a persist id,
        only a commit naming it; without, only the session that made it while that session
        lives (the commit of a session that ended may be confirmed by any session)."""
        if not pending:
            return
        if pending.persist:
            if persist_id != pending.persist:
                raise DatastoreError("a confirmed commit with a persist id is pending; "
                                     "give its persist-id to confirm or extend it",
                                     tag="invalid-value")
            return
        owner = pending.session
        if owner == self.id:
            return
        with self.store.transaction():
            self.store.reap_sessions()
        row = self.store.session_info(owner)
        if row is not None:
            raise DatastoreError("confirmed commit %d of %s (%s session %d, pid %d) is pending; "
                                 "only that session may confirm it"
                                 % (pending.commit_id, row.user, row.client, owner, row.pid),
                                 tag="in-use", info={"session-id": owner})

    def revision_before(self, commit_id):
        """The revision running had before COMMIT_ID (0: the empty configuration)."""
        rows = [r[0] for r in self.store.history() if commit_id is None or r[0] < commit_id]
        return rows[0] if rows else 0

    def install(self, new, comment="", label="", client=None, changes=None, of_candidate=False):
        """Run the service pipeline and store NEW as running; None if nothing changed.
        The shared candidate follows: it becomes NEW when it had no changes of its own
        (or OF_CANDIDATE: it is what this shared session commits), else its changes are
        rebased onto NEW."""
        if changes is None:
            changes = T.diff(self.running, new, self.schema.roots)
        if not changes:
            return None
        with self.store.transaction():
            self.store.set_applying(True)
        try:
            services.apply_commit(self.running, new, changes, self.schema, self.directory)
        except services.ServiceError as exc:
            with self.store.transaction():
                self.store.set_applying(False)
            cause = exc.__cause__
            if self.store.unwritable() or getattr(cause, "errno", None) == errno.ENOSPC:
                raise self.store.refusal(cause) from exc     # the files could not be written
            raise DatastoreError("commit refused: %s" % exc, tag="operation-failed")
        text = self._encoded(new, of_candidate)
        try:
            with self.store.transaction():
                self.store.set_applying(False)
                commit_id = self.store.add_revision(text, self.user, client or self.client,
                                                    comment, label)
                self.store.save("running", None, revision=commit_id, text=text)
                ours = of_candidate and not self.private and \
                    self.store.generation("candidate") == self._gen["candidate"]
                followed = self._follow(new, text, ours)
                self._gen = {name: self.store.generation(name) for name in TARGETS}
        except StoreError:
            self._restore_files(new)
            raise
        self.running = self.installed = new
        self.revision = commit_id
        self.batch_dirty = False
        if self.private:
            if of_candidate:
                self.base, self.conflicts = new, []
            else:
                self._rebase()
        elif followed:
            self.changed_by = []
            if not ours:
                self.candidate = T.copy_tree(new)
        else:
            self._gen["candidate"] = None
            self.refresh()
        audit.committed(self, commit_id, comment, client or self.client)
        return commit_id

    def _encoded(self, new, of_candidate):
        """The stored text of NEW: a shared session committing the candidate it stored
        (edits since went nowhere else) reuses the candidate's text instead of encoding
        the tree again."""
        if of_candidate and not (self.private or self.batch_dirty):
            text, generation = self.store.text("candidate")
            if generation == self._gen["candidate"]:
                return text
        return self.store.encode(new)

    def undo(self, old, comment):
        """Undo on running what this session's commits changed since running was OLD
        (a failed script's): what others committed meanwhile stays."""
        with self._commit_lock():
            self.refresh()
            target, _ = T.rebase(self.installed, old, self.running, self.schema, mine_wins=True)
            return self.install(target, comment)

    def _follow(self, new, text, ours):
        """Bring the stored shared candidate along to NEW running (see install): whether
        it is now NEW."""
        if ours or not self.store.changed_by("candidate"):
            self.store.save("candidate", None, text=text)
            return True
        shared, _gen, _rev, changed_by = self.store.load("candidate")
        merged, _ = T.rebase(self.running, shared, new, self.schema, mine_wins=True)
        self.store.save("candidate", merged, changed_by if merged != new else ())
        return False

    def _restore_files(self, new):
        """Running could not be stored (a full disk): generate the programs' files from
        running again at once. If that fails too, the applying marker stays and the next
        session does it (reconcile)."""
        with contextlib.suppress(services.ServiceError, StoreError):
            services.apply_commit(new, self.running, T.diff(new, self.running, self.schema.roots),
                                  self.schema, self.directory)
            with self.store.transaction():
                self.store.set_applying(False)

    @contextlib.contextmanager
    def _commit_lock(self):
        path = os.path.join(self.directory, "commit.lock")
        if self.store.read_only:
            raise StoreError(self.store.read_only, tag="resource-denied")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise self.store.refusal(exc)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = os.pread(fd, 200, 0).decode(errors="replace").strip()
                raise DatastoreError("another commit is in progress (%s)" % (other or "unknown"),
                                     tag="in-use")
            os.ftruncate(fd, 0)
            os.pwrite(fd, self.label.encode(), 0)
            yield
        finally:
            os.close(fd)

    def reconcile(self):
        """After a commit died between installing the programs' files and storing running,
        generate the files again from running, so that they never describe anything else."""
        owner = self.store.applying()
        if owner is None or alive(*owner):
            return
        try:
            with self._commit_lock():
                self.refresh()
                if self.store.applying() != owner:
                    return
                services.apply_commit({}, self.running, T.diff({}, self.running, self.schema.roots),
                                       self.schema, self.directory)
                with self.store.transaction():
                    self.store.set_applying(False)
        except (DatastoreError, services.ServiceError) as exc:
            self.notices.append("an interrupted commit left the programs' files ahead of the "
                                "running configuration, and generating them again failed: %s" % exc)
            return
        self.notices.append("a commit was interrupted: the programs' files were generated "
                            "again from the running configuration (commit %d)" % self.revision)

    # ---------------------------------------------------------------- confirmed commit

    def check_pending(self):
        """Revert an expired confirmed commit now; restart its timer if none runs."""
        pending = self.store.pending()
        if not pending:
            return
        if time.time() >= pending.deadline:
            try:
                self.revert_pending()
            except DatastoreError as exc:
                if exc.tag != "in-use":                  # else the timer is reverting it now
                    raise
        elif not pending.timer_pid or not alive(pending.timer_pid, pending.timer_start):
            self._spawn_timer()

    def revert_pending(self, cancelled=False):
        """Roll back the pending confirmed commit (on expiry, or cancel-commit)."""
        with self._commit_lock():
            pending = self.store.pending()
            if not pending or (not cancelled and time.time() < pending.deadline):
                return False
            commit_id, restore_id = pending.commit_id, pending.restore_id
            old = self.store.revision(restore_id) if restore_id else {}
            if old is None:
                old = {}
            reason = "cancelled" if cancelled else "not confirmed in time"
            self.refresh()
            try:
                self.install(old, "%s%d %s" % (ROLLBACK, commit_id, reason), "",
                             client="confirm-timer")
            finally:
                with self.store.transaction():
                    self.store.clear_pending()
            self.notices.append("commit %d was %s: the configuration was rolled back"
                                % (commit_id, reason))
            audit.reverted(self, commit_id, reason, self.revision)
            return True

    def _spawn_timer(self):
        proc = subprocess.Popen([sys.executable, "-m", "besip_cli.datastore.confirm", self.directory],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True,
                                env=dict(os.environ, PYTHONPATH=_package_root()))
        threading.Thread(target=proc.wait, daemon=True).start()     # no zombie once it ends
        with self.store.transaction():
            self.store.set_timer(proc.pid)


def _paths(paths):
    return "; ".join(T.format_path(path) for path in paths)


def _package_root():
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    existing = os.environ.get("PYTHONPATH")
    return here + (os.pathsep + existing if existing else "")


def _login_name():
    import pwd
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())
