"""A token stream that parses, reports IOS-style errors, and yields completions.

The same parsing code serves execution and help: with `completing` set, reaching the end
of the line where a keyword or value is expected raises Need with what may come next.
"""


class ParseError(Exception):
    """KIND is 'invalid' (caret at POS), 'ambiguous' or 'incomplete'."""

    def __init__(self, kind, pos=0, text="", detail=""):
        super().__init__(detail or kind)
        self.kind, self.pos, self.text, self.detail = kind, pos, text, detail

    def message(self):
        if self.kind == "ambiguous":
            return '%% Ambiguous command: "%s"' % self.text
        if self.kind == "incomplete":
            return "% Incomplete command."
        return "% Invalid input detected at '^' marker."


class Hint(str):
    """A placeholder among completion options (<1-65535>, A.B.C.D, <cr>): shown, never typed."""


CR = Hint("<cr>")


class Need(Exception):
    """Raised when completing: OPTIONS [(word or <placeholder>, help)], PARTIAL typed so far."""

    def __init__(self, options, partial=""):
        super().__init__("need")
        self.options, self.partial = options, partial


class Tokens:
    def __init__(self, tokens, line="", completing=False, partial=""):
        self.tokens = list(tokens)
        self.line = line
        self.i = 0
        self.completing = completing
        self.partial = partial          # the word being completed: options may be cut to it

    def at_end(self):
        return self.i >= len(self.tokens)

    def peek(self):
        return None if self.at_end() else self.tokens[self.i]

    def pos(self):
        return self.tokens[self.i].pos if not self.at_end() else len(self.line.rstrip())

    def prefix(self):
        """The typed text up to the current token (for 'ambiguous' messages)."""
        token = self.peek()
        return self.line[:token.pos + len(token.text)] if token else self.line

    def keyword(self, options, optional=False, cr=False):
        """Match the next token as a unique prefix of one of OPTIONS (dict word -> help)."""
        if self.at_end():
            if self.completing:
                extra = [(CR, "")] if (optional or cr) else []
                raise Need(sorted(options.items()) + extra)
            if optional:
                return None
            raise ParseError("incomplete", self.pos())
        token = self.tokens[self.i]
        if token.quoted:
            raise ParseError("invalid", token.pos)
        if token.text in options:
            self.i += 1
            return token.text
        matches = [w for w in options if w.startswith(token.text)]
        if len(matches) == 1:
            self.i += 1
            return matches[0]
        if matches:
            raise ParseError("ambiguous", token.pos, self.prefix())
        raise ParseError("invalid", token.pos)

    def try_keyword(self, options):
        """Like keyword() but None (not an error) when the next token is not one of OPTIONS."""
        if self.at_end():
            return None
        save = self.i
        try:
            return self.keyword(options)
        except ParseError as exc:
            if exc.kind == "ambiguous":
                raise
            self.i = save
            return None

    def value(self, hint, help_text="", check=None, options=()):
        """The next token as a free value; CHECK(text) may refuse it (ValueError).
        OPTIONS (pairs, or a function returning them) are only computed when completing."""
        if self.at_end():
            if self.completing:
                options = list(options() if callable(options) else options)
                raise Need(options + ([(Hint(hint), help_text)] if hint else []))
            raise ParseError("incomplete", self.pos())
        token = self.tokens[self.i]
        if not token.quoted and token.text in ("[", "]", "|"):
            raise ParseError("invalid", token.pos)
        if check is not None:
            try:
                text = check(token.text)
            except ValueError as exc:
                raise ParseError("invalid", token.pos, detail=str(exc))
        else:
            text = token.text
        self.i += 1
        return text

    def rest(self):
        """All remaining tokens' texts."""
        out = [t.text for t in self.tokens[self.i:]]
        self.i = len(self.tokens)
        return out

    def end(self):
        if self.completing and self.at_end():
            raise Need([(CR, "")])
        if not self.at_end():
            raise ParseError("invalid", self.tokens[self.i].pos)

    def invalid(self, detail=""):
        raise ParseError("invalid", self.pos(), detail=detail)
