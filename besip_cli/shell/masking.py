"""Command lines with the values of secret leaves (SIP secrets, login passwords) replaced
by `*****`, for the command history (`show history` and the history file) and for every
error that shows the line (a script's `FILE:LINE:` report, a loaded file's line)."""

import re

from ..datastore.secrets import MASK
from .lexer import LexError, _TOKEN, tokenize

_SHORTEST = 3                  # abbreviations of a secret leaf's name that are masked


def secret_names(schema):
    """The names of the leaves marked secret (encrypt or hash) in SCHEMA."""
    return frozenset(node.name for node in schema.walk() if getattr(node, "secret", None))


def _is_secret_word(token, names):
    return (not token.quoted and len(token.text) >= _SHORTEST
            and any(name.startswith(token.text) for name in names))


def _spans(line, names):
    """(start, end, replacement) of each secret value in LINE: the word after each
    (possibly abbreviated) secret leaf name; in a line that does not tokenize, everything
    after the first such name."""
    try:
        tokens = tokenize(line)
    except LexError:
        for word in re.finditer(r"\S+", line):
            if len(word.group()) >= _SHORTEST and any(n.startswith(word.group()) for n in names):
                return [(word.end(), len(line), " " + MASK)]
        return []
    return [(token.pos, _TOKEN.match(line, token.pos).end(), MASK)
            for before, token in zip(tokens, tokens[1:])
            if _is_secret_word(before, names) and token.text != "|"]


def mask(line, names):
    """LINE with its secret values masked."""
    return mask_at(line, names, None)[0]


def mask_at(line, names, pos):
    """(LINE with its secret values masked, column POS of LINE moved to the same place in
    it; a column inside a secret moves to its mask). POS may be None."""
    out, last, shift, moved = [], 0, 0, pos
    for start, end, replacement in _spans(line, names):
        if pos is not None and start <= pos < end:
            moved = start + shift + len(replacement) - len(MASK)
        out.append(line[last:start] + replacement)
        last = end
        shift += len(replacement) - (end - start)
        if pos is not None and pos >= end:
            moved = pos + shift
    return "".join(out) + line[last:], moved
