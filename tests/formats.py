"""Strict parsers of the generated formats, for tests: any line they do not understand
is an error, so an injected line or quote shows up as a failure."""

import os
import re

UCI_NAME = re.compile(r"[A-Za-z0-9_]+$")


class FormatError(Exception):
    pass


def _uci_tokens(line, lineno):
    """Split a UCI line like libuci: words, '...' (no escapes), "..." (\\ escapes),
    adjacent pieces concatenated, '#' outside quotes starts a comment."""
    tokens, cur, i, have = [], "", 0, False
    while i < len(line):
        c = line[i]
        if c in " \t":
            if have:
                tokens.append(cur)
            cur, have = "", False
        elif c == "#" and not have:
            break
        elif c == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise FormatError("line %d: unterminated '" % lineno)
            cur, have, i = cur + line[i + 1:end], True, end
        elif c == '"':
            i += 1
            while i < len(line) and line[i] != '"':
                if line[i] == "\\":
                    i += 1
                    if i == len(line):
                        raise FormatError("line %d: backslash at end of line" % lineno)
                cur += line[i]
                i += 1
            if i >= len(line):
                raise FormatError('line %d: unterminated "' % lineno)
            have = True
        elif c == "\\":
            if i + 1 == len(line):
                raise FormatError("line %d: backslash at end of line" % lineno)
            cur, have, i = cur + line[i + 1], True, i + 1
        elif c in ";":
            raise FormatError("line %d: unexpected ';'" % lineno)
        else:
            cur, have = cur + c, True
        i += 1
    if have:
        tokens.append(cur)
    return tokens


def parse_uci(text):
    """[(type, name, {option: value or [list values]})] of a UCI file."""
    sections = []
    for lineno, line in enumerate(text.split("\n"), 1):
        tokens = _uci_tokens(line, lineno)
        if not tokens:
            continue
        word = tokens[0]
        if word == "config":
            if len(tokens) not in (2, 3) or not UCI_NAME.match(tokens[1]) or \
                    (len(tokens) == 3 and not UCI_NAME.match(tokens[2])):
                raise FormatError("line %d: bad config line %r" % (lineno, line))
            sections.append((tokens[1], tokens[2] if len(tokens) == 3 else None, {}))
        elif word in ("option", "list"):
            if not sections or len(tokens) != 3 or not UCI_NAME.match(tokens[1]):
                raise FormatError("line %d: bad %s line %r" % (lineno, word, line))
            options = sections[-1][2]
            if word == "option":
                if tokens[1] in options:
                    raise FormatError("line %d: option %s repeated" % (lineno, tokens[1]))
                options[tokens[1]] = tokens[2]
            else:
                options.setdefault(tokens[1], []).append(tokens[2])
        else:
            raise FormatError("line %d: unknown statement %r" % (lineno, line))
    return sections


AST_SECTION = re.compile(r"\[([A-Za-z0-9_.*+-]+)\]$")
AST_KEY = re.compile(r"([A-Za-z0-9_]+) ?(=>|=) ?(.*)$")


def expand_includes(text, directory):
    """TEXT with each `#include FILE` line replaced by FILE's lines (FILE relative to the
    configuration DIRECTORY), read as Asterisk reads them: inside the current section."""
    lines = []
    for line in text.split("\n"):
        if line.startswith("#include "):
            with open(os.path.join(directory, line.split(None, 1)[1].strip())) as f:
                lines.append(expand_includes(f.read(), directory).rstrip("\n"))
        else:
            lines.append(line)
    return "\n".join(lines)


def parse_asterisk(text):
    """[(section, [(key, value)])] of an Asterisk .conf file; ';' comments only on their
    own line, '\\;' unescaped, no #include/#exec, no block comments."""
    sections = []
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith(";"):
            if line.startswith(";--"):
                raise FormatError("line %d: block comment" % lineno)
            continue
        if line.startswith("#"):
            raise FormatError("line %d: directive %r" % (lineno, line))
        m = AST_SECTION.match(line)
        if m:
            sections.append((m.group(1), []))
            continue
        m = AST_KEY.match(line)
        if not m or not sections:
            raise FormatError("line %d: not a section or key = value: %r" % (lineno, raw))
        value = m.group(3)
        if re.search(r"(?<!\\);", value):
            raise FormatError("line %d: unescaped ';' in %r" % (lineno, raw))
        sections[-1][1].append((m.group(1), value.replace("\\;", ";")))
    return sections


def objects(sections):
    """pjsip.conf as {(type, name): {key: value}} (one section name may hold several types)."""
    out = {}
    for name, pairs in sections:
        values = dict(pairs)
        if len(values) != len(pairs):
            raise FormatError("[%s]: a key is repeated" % name)
        key = (values.get("type"), name)
        if key in out:
            raise FormatError("[%s] type=%s defined twice" % key[::-1])
        out[key] = values
    return out
