"""Output modifiers after `|`: include, exclude, begin, section, count, display, no-more,
details, save."""

import re

from .tokens import ParseError, Tokens

STAGES = {
    "include": "Only lines that match a regular expression",
    "exclude": "Only lines that do not match a regular expression",
    "begin": "Output from the first line that matches a regular expression",
    "section": "Blocks whose first line matches a regular expression",
    "count": "Count the lines",
    "display": "Show the configuration in another format",
    "no-more": "Do not page the output",
    "details": "Show default values too",
    "save": "Write the output to a file (mode 0600) instead of the screen",
}
FORMATS = {"xml": "NETCONF XML", "json": "RFC 7951 JSON", "set": "One statement per line"}


def parse(stages, line, completing=False, extra=None):
    """Parsed stages [(name, argument)] from token lists; EXTRA adds stage names (compare)."""
    parsed = []
    names = dict(STAGES, **(extra or {}))
    for tokens in stages:
        tk = Tokens(tokens, line, completing)
        name = tk.keyword(names)
        arg = None
        if name in ("include", "exclude", "begin", "section"):
            pattern = " ".join([tk.value("<regex>", "Regular expression")] + tk.rest())
            try:
                arg = re.compile(pattern)
            except re.error as exc:
                raise ParseError("invalid", tokens[1].pos, detail="bad regular expression: %s" % exc)
        elif name == "display":
            if parsed and any(p[0] != "no-more" for p in parsed):
                raise ParseError("invalid", tokens[0].pos,
                                 detail="'display' must be the first modifier")
            arg = tk.keyword(FORMATS)
        elif name == "count":
            if not tk.at_end():
                pattern = " ".join(tk.rest())
                try:
                    arg = re.compile(pattern)
                except re.error as exc:
                    raise ParseError("invalid", tokens[1].pos,
                                     detail="bad regular expression: %s" % exc)
        elif name == "save":
            arg = tk.value("<file>", "File to write (replaced atomically)")
            if len(parsed) + 1 < len(stages):
                raise ParseError("invalid", tokens[0].pos, detail="'save' must be the last modifier")
        elif extra and name in extra:
            tk.rest()            # the caller parses the arguments of its own stages
        tk.end()
        parsed.append((name, arg))
    return parsed


def saved_to(parsed):
    """The file `| save FILE` names, or None."""
    return next((arg for name, arg in parsed if name == "save"), None)


def output_format(parsed):
    for name, arg in parsed:
        if name == "display":
            return arg
    return "cli"


def filter_lines(lines, parsed):
    for name, arg in parsed:
        if name == "include":
            lines = [l for l in lines if arg.search(l)]
        elif name == "exclude":
            lines = [l for l in lines if not arg.search(l)]
        elif name == "begin":
            for i, l in enumerate(lines):
                if arg.search(l):
                    lines = lines[i:]
                    break
            else:
                lines = []
        elif name == "section":
            lines = _sections(lines, arg)
        elif name == "count":
            lines = [str(len([l for l in lines if arg is None or arg.search(l)]))]
    return lines


def _sections(lines, pattern):
    """Each block (a top line, its indented lines and closing '!') whose top line matches."""
    out, keep = [], False
    for line in lines:
        if not line.startswith(" ") and line != "!":
            keep = bool(pattern.search(line))
        if keep:
            out.append(line)
    return out
