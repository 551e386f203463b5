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


def tokenize(line):
    """Tokens of LINE; a double-quoted token may hold spaces and \\ escapes."""
    tokens = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch == '"':
            i += 1
            out = []
            while True:
                if i >= n:
                    raise LexError('missing \'"\' at the end of the line', start)
                ch = line[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\" and i + 1 < n:
                    out.append(_ESCAPES.get(line[i + 1], "\\" + line[i + 1]))
                    i += 2
                    continue
                out.append(ch)
                i += 1
            tokens.append(Token("".join(out), start, True))
        elif ch == "|" or (ch in "[]" and (i + 1 == n or line[i + 1].isspace())):
            tokens.append(Token(ch, start))
            i += 1
        else:
            while i < n and not line[i].isspace() and line[i] not in '"|':
                i += 1
            tokens.append(Token(line[start:i], start))
    return tokens


def split_pipes(tokens):
    """(command tokens, [pipe stage tokens...]) split at unquoted '|'."""
    stages = [[]]
    for token in tokens:
        if token.is_word("|"):
            stages.append([])
        else:
            stages[-1].append(token)
    return stages[0], stages[1:]


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
