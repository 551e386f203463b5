"""Outbound routes shared by Kamailio and Asterisk: pattern checks and translations."""

import re

from .errors import ServiceError

_CLASSES = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}
_TOKEN = re.compile(r"\[(?:[0-9](?:-[0-9])?)+\]|[0-9*#+XZN]|[.!]$")
_RANGE = re.compile(r"([0-9])-([0-9])")


def tokens(pattern, where):
    """Split an Asterisk-style dial PATTERN; ServiceError if it is malformed."""
    out, pos = [], 0
    while pos < len(pattern):
        m = _TOKEN.match(pattern, pos)
        if not m:
            raise ServiceError("%s: dial pattern %r is malformed at %r: '[' needs a closing ']' "
                               "with digits or ranges like 1-5 inside, and '.' or '!' may only "
                               "end it"
                               % (where, pattern, pattern[pos:]))
        for low, high in _RANGE.findall(m.group(0)):
            if low > high:
                raise ServiceError("%s: dial pattern %r has the range %s-%s, which goes down; "
                                   "write %s-%s" % (where, pattern, low, high, high, low))
        out.append(m.group(0))
        pos = m.end()
    return out


def regex(pattern):
    """POSIX extended regular expression matching exactly the numbers PATTERN matches."""
    parts = []
    for tok in tokens(pattern, "route"):
        if tok in _CLASSES:
            parts.append(_CLASSES[tok])
        elif tok.startswith("["):
            parts.append(tok)
        elif tok == ".":
            parts.append(".+")
        elif tok == "!":
            parts.append(".*")
        else:
            parts.append(tok if tok.isdigit() else "[" + tok + "]")
    return "^" + "".join(parts) + "$"


def asterisk(pattern):
    """The extension name Asterisk's dial plan uses for PATTERN."""
    literal = all(t.isdigit() or t in "*#+" for t in tokens(pattern, "route"))
    return pattern if literal else "_" + pattern


def routes(pbx):
    """Usable outbound routes in priority order (lowest first, then name)."""
    out = []
    for name, route in sorted(pbx["route"].items(), key=lambda kv: (int(kv[1]["priority"]), kv[0])):
        trunk = pbx["trunk"].get(route.get("trunk")) if route.get("trunk") else None
        if trunk is not None and trunk["enabled"] != "true":
            continue
        out.append(dict(route, name=name, trunk_entry=trunk, prepend=route.get("prepend", "")))
    return out


def verify(pbx):
    """Every pattern well formed; a trunk route's digits are not shorter than its strip."""
    for name, route in pbx["route"].items():
        toks = tokens(route["pattern"], "pbx route %s" % name)
        fixed = len([t for t in toks if t not in ".!"])
        if int(route["strip"]) > fixed and "." not in toks:
            raise ServiceError("pbx route %s: strip %s removes more digits than pattern %r has"
                               % (name, route["strip"], route["pattern"]))
