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
    """The uid to give files of USER: -1 (keep ours) unless root and the user exists."""
    if os.geteuid() != 0 or not user:
        return -1
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return -1


class Installation:
    """Files replaced so far, each old one kept as a hard link beside it: `restore()` puts
    them back by renaming, which needs no free space (a full disk can always be undone);
    `done()` drops the old copies."""

    def __init__(self):
        self.saved = []        # (path, backup path of the old file, or None: there was none)

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
            self.saved.append((path, self._keep(path)))
            os.unlink(path)
            fsync_dir(os.path.dirname(path))
            return True
        mode = 0o600 if file.secret else 0o644
        uid = owner(file.user)
        if old == file.content and st.st_mode & 0o7777 == mode and (uid < 0 or st.st_uid == uid):
            return False
        self.saved.append((path, self._keep(path) if st else None))
        write_atomic(path, file.content, mode, uid)
        return True

    @staticmethod
    def _keep(path):
        backup = os.path.join(os.path.dirname(path), ".%s.besip-old" % os.path.basename(path))
        if os.path.lexists(backup):
            os.unlink(backup)          # left by a commit that was killed
        os.link(path, backup)
        return backup

    def restore(self):
        """Undo every change, newest first."""
        for path, backup in reversed(self.saved):
            if backup is None:
                if os.path.exists(path):
                    os.unlink(path)
            else:
                os.replace(backup, path)
            fsync_dir(os.path.dirname(path))
        self.saved = []

    def done(self):
        """The new files stay: forget the old ones."""
        for _path, backup in self.saved:
            if backup is not None:
                os.unlink(backup)
        self.saved = []
