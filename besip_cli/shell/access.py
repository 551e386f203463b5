"""Who may use configuration mode from this process: the role of the user at the terminal."""

from .. import auth
from ..auth import over_ssh  # noqa: F401  (the CLI's entry point asks here)
from .interp import CliError


def role(session):
    """The role of the user at the terminal (the console-owner rule is auth's)."""
    return auth.process_role(session)


def configure_guard(session, user_role):
    """A hook for Interpreter.on_configure that refuses read-only roles."""
    def guard():
        if user_role not in auth.WRITE_ROLES:
            raise CliError("%% Permission denied: %s has the %s role, which cannot enter "
                           "configuration mode." % (session.user, user_role or "no"))
    return guard
