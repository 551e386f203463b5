"""Command lines with the values of secret leaves (SIP secrets, login passwords) replaced
by `*****`, for the command history (`show history` and the history file)."""

import re

from .lexer import LexError, _TOKEN, tokenize

MASK = "*****"
_SHORTEST = 3                  # abbreviations of a secret leaf's name that are masked


def secret_names(schema):
    """The names of the leaves marked secret (encrypt or hash) in SCHEMA."""
    return frozenset(node.name for node in schema.walk() if getattr(node, "secret", None))


def _is_secret_word(token, names):
    return (not token.quoted and len(token.text) >= _SHORTEST
            and any(name.startswith(token.text) for name in names))


def mask(line, names):
    """LINE with the word after each (possibly abbreviated) secret leaf name masked; a line
    that does not tokenize is masked from the first such name on."""
    try:
        tokens = tokenize(line)
    except LexError:
        words = re.finditer(r"\S+", line)
        for word in words:
            if len(word.group()) >= _SHORTEST and any(n.startswith(word.group()) for n in names):
                return line[:word.end()] + " " + MASK
        return line
    out, last = [], 0
    for before, token in zip(tokens, tokens[1:]):
        if _is_secret_word(before, names) and token.text != "|":
            end = _TOKEN.match(line, token.pos).end()
            out.append(line[last:token.pos] + MASK)
            last = end
    return "".join(out) + line[last:]
