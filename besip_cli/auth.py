"""Who may do what: the users of `system user` with their role, password and SSH keys.

Every front-end (shell, SSH server, NETCONF) asks here. Roles: admin (everything),
operator and monitor (read only: no configuration mode, no edit, lock or commit).
The embedded default: while no user is configured, the local account that owns the data
directory is admin, so a fresh box can be set up from its console. The console owner: a
process on the box itself (not over SSH) whose user owns the data directory is admin even
when users are configured, for its own sessions (the shell, a local besip-netconf): the
files are its own anyway.
"""

import os
import pwd

from .datastore.secrets import verify_password

WRITE_ROLES = ("admin",)


def users(running):
    return running.get("system", {}).get("user", {})


def role(running, user, directory=None):
    """The role of USER, or None if USER may not log in."""
    entry = users(running).get(user)
    if entry is not None:
        return entry.get("role")
    if not users(running) and directory is not None and _owner(directory) == user:
        return "admin"
    return None


def process_role(session):
    """The role of a SESSION this process opened for its own user: the configured role,
    else admin for the console owner."""
    found = session.role
    if found is None and console_owner(session.directory):
        found = "admin"
    return found


def over_ssh():
    """True if this process serves an SSH login (OpenSSH sets SSH_CONNECTION)."""
    return "SSH_CONNECTION" in os.environ


def console_owner(directory):
    """True if this process runs on the box itself (not over SSH) as the owner of DIRECTORY."""
    if over_ssh():
        return False
    try:
        return os.stat(directory).st_uid == os.getuid()
    except OSError:
        return False


def check_password(running, user, password):
    entry = users(running).get(user)
    hashed = entry.get("password") if entry else None
    return bool(hashed) and verify_password(password, hashed)


def public_keys(running, user):
    """The OpenSSH public key lines configured for USER."""
    entry = users(running).get(user)
    return list(entry.get("ssh-key", [])) if entry else []


def _owner(directory):
    try:
        return pwd.getpwuid(os.stat(directory).st_uid).pw_name
    except (OSError, KeyError):
        return None
