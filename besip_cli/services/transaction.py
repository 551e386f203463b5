"""What every service hook receives (clixon style): the configuration before and after
the commit, the changes between them and the deployment settings; never the Session."""

from dataclasses import dataclass

from .settings import Settings


@dataclass(frozen=True)
class Transaction:
    """OLD and NEW are whole configurations with the schema defaults filled in; CHANGES
    are datastore.tree.Change records (paths of names and (list, key) steps)."""
    old: dict
    new: dict
    changes: tuple
    settings: Settings

    def changed(self, path):
        """True if a change touches PATH or lies below or above it. A step of PATH is a
        node name (any entry of a list) or a (list, key) pair (that entry only)."""
        return any(_overlaps(c.path, path) for c in self.changes)

    def changed_keys(self, path):
        """Keys of the entries of the list at PATH (a path of names) that changed, or None
        when the list changed as a whole (added, removed, reordered, or an ancestor did)."""
        keys = set()
        depth = len(path) - 1
        for c in self.changes:
            if not _overlaps(c.path, path):
                continue
            step = c.path[depth] if len(c.path) > depth else None
            if not isinstance(step, tuple):
                return None
            keys.add(step[1])
        return keys


def _overlaps(change, path):
    for have, want in zip(change, path):
        if isinstance(have, tuple) and isinstance(want, tuple):
            if have != want:
                return False
        elif _name(have) != _name(want):
            return False
    return True


def _name(step):
    return step[0] if isinstance(step, tuple) else step
