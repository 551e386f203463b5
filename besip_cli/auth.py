"""Who may do what: the users of `system user` with their role, password and SSH keys.

Every front-end (shell, SSH server, NETCONF) asks here. Roles: admin (everything),
operator and monitor (read only: no configuration mode, no edit, lock or commit).
The embedded default: while no user is configured, the local account that owns the data
directory is admin, so a fresh box can be set up from its console.
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


def may_write(running, user, directory=None):
    return role(running, user, directory) in WRITE_ROLES


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
