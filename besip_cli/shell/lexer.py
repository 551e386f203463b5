"""Splitting a command line into tokens (with quotes) and pipe stages."""

import re

_BARE = re.compile(r'[^\s"\\|\[\]!#]+')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class LexError(Exception):
    def __init__(self, message, pos):
        super().__init__(message)
        self.pos = pos


class Token:
    __slots__ = ("text", "pos", "quoted")

    def __init__(self, text, pos, quoted=False):
        self.text, self.pos, self.quoted = text, pos, quoted

    def is_word(self, word):
        return not self.quoted and self.text == word

    def __repr__(self):
        return "Token(%r@%d)" % (self.text, self.pos)


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)("?)|\||[^\s"|]+')
_ESCAPE = re.compile(r"\\(.)")


def tokenize(line):
    """Tokens of LINE; a double-quoted token may hold spaces and \\ escapes. A bare `[` or
    `]` (standing alone) brackets a leaf-list's values."""
    tokens = []
    for match in _TOKEN.finditer(line):
        if match.group(0).startswith('"'):
            if not match.group(2):
                raise LexError('missing \'"\' at the end of the line', match.start())
            text = _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), match.group(1))
            tokens.append(Token(text, match.start(), True))
        else:
            tokens.append(Token(match.group(0), match.start()))
    return tokens


def split_pipes(tokens):
    """(command tokens, [pipe stage tokens...]) split at unquoted '|'. Within a stage's
    argument (`| include secret|password`), a '|' glued to the words on both sides is part
    of the regular expression, as IOS users type it."""
    stages = [[]]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.is_word("|"):
            stages[-1].append(token)
        elif len(stages) > 1 and len(stages[-1]) > 1 and i + 1 < len(tokens) and \
                _glued(stages[-1][-1], token, tokens[i + 1]):
            left, right = stages[-1].pop(), tokens[i + 1]
            stages[-1].append(Token(left.text + "|" + right.text, left.pos))
            i += 1
        else:
            stages.append([])
        i += 1
    return stages[0], stages[1:]


def _glued(left, bar, right):
    return not left.quoted and not right.quoted and not right.is_word("|") and \
        left.pos + len(left.text) == bar.pos and right.pos == bar.pos + 1


def quote(text):
    """TEXT as a token that tokenize() reads back unchanged."""
    if text and _BARE.fullmatch(text):
        return text
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        else:
            out.append(ch)
    return '"%s"' % "".join(out)
