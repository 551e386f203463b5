"""Crash-safe file writes: the one helper every part of BESIP uses.

A file is written to a temporary name in its own directory, fsync'd, renamed over the
target (or linked, when an existing file must win) and the directory is fsync'd, so a
power loss at any instant leaves the old file or the new one, never a mixture.
"""

import os
import tempfile


def fsync_dir(directory):
    fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, content, mode=0o644, uid=-1, exclusive=False):
    """Write CONTENT (bytes or str) to PATH atomically with MODE (and owner UID if >= 0).

    EXCLUSIVE: never replace an existing file; returns False when PATH already existed
    (the first of two racing writers wins), True when this call created it.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".besip-", dir=directory)
    created = True
    try:
        os.fchmod(fd, mode)
        if uid >= 0:
            os.fchown(fd, uid, -1)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                created = False
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(directory)
    return created
