"""The confirmed-commit timer: a detached process that reverts an unconfirmed commit.

Started by the commit (and again by any besip start after a reboot); it sleeps until the
deadline stored in the database, which a confirming commit clears and a new confirmed
commit moves, then reverts through the normal commit path.
"""

import os
import sys
import time

from .session import DatastoreError, Session
from .store import StoreError


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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
