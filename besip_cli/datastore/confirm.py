"""The confirmed-commit timer: a detached process that reverts an unconfirmed commit.

Started by the commit (and again by any besip start after a reboot); it sleeps until the
deadline stored in the database, which a confirming commit clears and a new confirmed
commit moves, then reverts through the normal commit path.
"""

import os
import sys
import time

from .session import ROLLBACK, DatastoreError, Session
from .store import Store, StoreError


def main(directory):
    session = Session(directory, user="system", client="confirm-timer", watch_pending=False)
    try:
        with session.store.transaction():
            session.store.set_timer(os.getpid())
        while True:
            pending = session.pending()
            if not pending:
                return 0
            delay = pending.deadline - time.time()
            if delay <= 0:
                try:
                    session.revert_pending()
                    return 0
                except DatastoreError:       # another commit holds the commit lock
                    delay = 0.2
            time.sleep(min(delay, 1.0))
    except StoreError:
        return 1
    finally:
        session.close()


def outcome(directory, schema, commit_id):
    """Wait until confirmed commit COMMIT_ID is no longer pending (in this thread, with a
    database connection of its own): the sentence saying it was rolled back, or None when
    it was confirmed or superseded (or the datastore cannot be read: nothing to say)."""
    try:
        store = Store(directory, schema)
    except StoreError:
        return None
    try:
        while True:
            pending = store.pending()
            if pending is None or pending.commit_id != commit_id:
                break
            time.sleep(min(max(pending.deadline - time.time(), 0.2), 2.0))
        for revert, _when, _user, _client, comment, _label in store.history(5):
            if comment.startswith("%s%d " % (ROLLBACK, commit_id)):
                return "Commit %d was %s: the configuration was rolled back (commit %d)." % (
                    commit_id, comment[len("%s%d " % (ROLLBACK, commit_id)):], revert)
        return None
    except StoreError:
        return None
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
