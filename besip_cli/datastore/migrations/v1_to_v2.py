"""Format 1 -> 2: display-name and full-name no longer take Unicode format characters
(direction overrides, zero-width joiners, the soft hyphen, byte-order marks), line and
paragraph separators, or unassigned code points, which format 1 accepted. They are dropped,
so a format-1 file holding them loads; no other leaf of format 1 could hold them."""

import unicodedata

_DROPPED = {"Cf", "Cn", "Zl", "Zp"}


def migrate(text):
    return "".join(ch for ch in text
                   if ch.isascii() or unicodedata.category(ch) not in _DROPPED)
