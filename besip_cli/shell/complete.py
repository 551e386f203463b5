"""`?` help, Tab completion and error highlighting, all from the parser (Interpreter.need).

Nothing here knows the command language: the text before the cursor is parsed exactly as
Enter would parse it, and the parser says what it needed when the line ran out.
"""

import textwrap

from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.utils import get_cwidth

from .lexer import LexError, quote, tokenize
from .tokens import CR, Hint, Need, ParseError


class Help:
    """What may come at the cursor: OPTIONS [(word or Hint, help)] matching PARTIAL, the word
    being typed; ERROR (ParseError) when the text before it is already wrong."""

    __slots__ = ("options", "partial", "error")

    def __init__(self, options=(), partial="", error=None):
        self.options, self.partial, self.error = list(options), partial, error


def analyse(interp, text):
    """The Help for TEXT typed so far."""
    try:
        tokens = tokenize(text)
    except LexError:
        return Help()                      # inside an open quote: a free value
    partial, base = "", text
    if tokens and not text[-1].isspace():
        last = tokens[-1]
        if last.quoted or last.text == "|":
            base = text + " "              # a closed quote or a pipe: what follows it
        else:
            partial, base = last.text, text[:last.pos]
    try:
        interp.need(base, partial)
    except Need as need:
        return Help(_matching(need.options, partial), partial)
    except ParseError as exc:
        return Help(partial=partial, error=exc)
    except LexError:
        pass
    return Help(partial=partial)


def _matching(options, partial):
    if not partial:
        return options
    words = [(w, h) for w, h in options if w.startswith(partial) and not isinstance(w, Hint)]
    return words or [(w, h) for w, h in options if isinstance(w, Hint) and w != CR]


def first_error(interp, text):
    """Where TEXT stops making sense (a column), or None."""
    try:
        interp.need(text)
    except ParseError as exc:
        if exc.kind == "invalid" and exc.pos < len(text):
            return exc.pos
    except (Need, LexError):
        pass
    return None


def help_lines(interp, text, width=80, indent=0):
    """What `?` prints for TEXT (typed INDENT columns in): one line per option, or the error
    with a caret."""
    found = analyse(interp, text)
    if found.error is not None:
        caret = []
        if found.error.kind == "invalid":
            caret = [" " * (indent + get_cwidth(text[:found.error.pos])) + "^"]
        return caret + [found.error.message()]
    if not found.options:
        return ["% Unrecognized command"]
    column = min(max(len(w) for w, _ in found.options), 28)
    lines = []
    for word, text in found.options:
        start = 2 + max(column, len(word)) + 2
        if start + len(text) < width:                     # most lines: nothing to wrap
            lines.append(("  %-*s  %s" % (column, word, text)).rstrip())
            continue
        wrapped = textwrap.wrap(text, max(width - 1 - start, 20)) or [""]
        lines.append(("  %-*s  %s" % (column, word, wrapped[0])).rstrip())
        lines.extend(" " * (2 + column + 2) + more for more in wrapped[1:])
    return lines


def columns(words, width):
    """WORDS in columns filling WIDTH, sorted down each column (as readline lists them)."""
    size = min(width, max(get_cwidth(w) for w in words) + 1)
    count = max(1, width // size)
    rows = -(-len(words) // count)
    return ["".join(w + " " * (size - get_cwidth(w)) for w in words[r::rows]).rstrip()
            for r in range(rows)]


class ShellCompleter(Completer):
    """Tab completion: the words (never placeholders) the parser accepts at the cursor."""

    def __init__(self, interp):
        self.interp = interp

    def get_completions(self, document, complete_event):
        found = analyse(self.interp, document.text_before_cursor)
        for word, text in found.options:
            if isinstance(word, Hint):
                continue
            typed = word if word in ("[", "]", "|") else quote(word)
            yield Completion(typed + " ", -len(found.partial), display=word, display_meta=text)


class ErrorLexer(Lexer):
    """Marks the line from the first invalid token on, as it is typed."""

    def __init__(self, interp):
        self.interp = interp
        self._last = (None, None)

    def lex_document(self, document):
        text = document.text
        if self._last[0] != text:
            # a trailing ? is the help just asked for, shown on the line it was asked on
            self._last = (text, first_error(self.interp, text.rstrip("?")) if "\n" not in text else None)
        pos = self._last[1]

        def line(number):
            if number or pos is None:
                return [("", document.lines[number])]
            return [("", text[:pos]), ("class:invalid", text[pos:])]
        return line
