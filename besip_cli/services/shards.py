"""Per-extension parts of the programs' files, split into shard files (each included by
its main file) so that a change of a few extensions renders and writes their shards only:
a one-leaf edit among 10,000 extensions writes one shard of each, not the whole file."""

import zlib

COUNT = 32
NAMES = tuple("%02d" % n for n in range(COUNT))
EXTENSIONS = ("pbx", "extension")


def shard(key):
    """The shard name of a list entry's key (stable across runs and boxes)."""
    return NAMES[zlib.crc32(key.encode()) % COUNT]


def changed_entries(tx, path=EXTENSIONS):
    """Keys of the entries of the list at PATH that changed, when nothing else under PATH's
    top-level node did (so nothing the entries' rendering reads); else None: all."""
    keys = tx.changed_keys(path)
    if keys is None or any(c.path[0] == path[0] and not _below(c.path, path) for c in tx.changes):
        return None
    return keys


def touched(tx, path=EXTENSIONS):
    """Names of the shards of the list at PATH to render again."""
    keys = changed_entries(tx, path)
    return NAMES if keys is None else tuple(sorted({shard(k) for k in keys}))


def _below(change_path, path):
    """True if CHANGE_PATH lies inside the list at PATH (a path of names)."""
    names = [s[0] if isinstance(s, tuple) else s for s in change_path[:len(path)]]
    return len(change_path) >= len(path) and names == list(path)


def members(entries, names):
    """{shard name: {key: entry}} of ENTRIES for the shards NAMES (only those are read)."""
    wanted = set(names)
    out = {name: {} for name in names}
    for key in entries:
        name = shard(key)
        if name in wanted:
            out[name][key] = entries[key]
    return out
