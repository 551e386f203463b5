"""Atomic installation of generated files, with the backups needed to undo it."""

import os
import pwd
from dataclasses import dataclass

from ..fsutil import fsync_dir, write_atomic


@dataclass(frozen=True)
class File:
    """Content of one generated file; SECRET files are mode 0600 (owner: USER if root)."""
    content: bytes
    secret: bool = False
    user: str = ""


def owner(user):
    """The uid to give files of USER (a name or a numeric uid): -1 (keep ours) unless root
    and the user exists."""
    if os.geteuid() != 0 or not user:
        return -1
    if user.isdigit():
        return int(user)
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return -1


class Installation:
    """Files replaced so far; `restore()` puts every one back as it was."""

    def __init__(self):
        self.saved = []        # (path, old content or None, old mode, old uid)

    def put(self, path, file):
        """Install FILE (or remove the path when FILE is None); False if nothing changed."""
        try:
            st = os.stat(path)
            with open(path, "rb") as f:
                old = f.read()
        except FileNotFoundError:
            st, old = None, None
        if file is None:
            if old is None:
                return False
            self.saved.append((path, old, st.st_mode & 0o7777, st.st_uid))
            os.unlink(path)
            fsync_dir(os.path.dirname(path))
            return True
        mode = 0o600 if file.secret else 0o644
        uid = owner(file.user)
        if old == file.content and st.st_mode & 0o7777 == mode and (uid < 0 or st.st_uid == uid):
            return False
        self.saved.append((path, old, st.st_mode & 0o7777 if st else None, st.st_uid if st else -1))
        write_atomic(path, file.content, mode, uid)
        return True

    def restore(self):
        """Undo every change, newest first."""
        for path, old, mode, uid in reversed(self.saved):
            if old is None:
                if os.path.exists(path):
                    os.unlink(path)
            else:
                write_atomic(path, old, mode, uid if os.geteuid() == 0 else -1)
        self.saved = []
