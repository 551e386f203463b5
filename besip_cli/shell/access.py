"""Who may use configuration mode from this process: the role of the user at the terminal."""

import os

from .. import auth
from .interp import CliError


def over_ssh():
    return "SSH_CONNECTION" in os.environ


def role(session):
    """A configured user's role; on the console (not over SSH) the owner of the data
    directory is admin even when other users are configured: the files are theirs anyway."""
    found = session.role
    if found is None and not over_ssh() and os.stat(session.directory).st_uid == os.getuid():
        found = "admin"
    return found


def configure_guard(session, user_role):
    """A hook for Interpreter.on_configure that refuses read-only roles."""
    def guard():
        if user_role not in auth.WRITE_ROLES:
            raise CliError("%% Permission denied: %s has the %s role, which cannot enter "
                           "configuration mode." % (session.user, user_role or "no"))
    return guard
