"""The format version of saved configurations, and the steps that bring an older one up
to date (one module per step, as VyOS's migration scripts).

A saved file states its version: CLI text in a first comment line `! besip-config-format N`,
XML in a first comment `<!-- besip-config-format N -->`, JSON in a top-level member
`"besip-config-format": N`. A file without one (saved before versions existed, or shown
output pasted into a file) is version 1."""

import json
import re

from . import v1_to_v2

CURRENT = 2
KEY = "besip-config-format"
STEPS = {1: v1_to_v2.migrate}           # version -> step(text) giving version + 1
_MARK = re.compile(r"\A\s*(?:!|<!--)\s*%s\s+(\d+)" % KEY)


class MigrationError(ValueError):
    pass


def stamp(text, fmt):
    """TEXT (a configuration in FMT: cli, json, xml) marked with the current version."""
    if fmt == "json":                    # TEXT is "{}" or "{\n  ...}"
        member = '"%s": %d' % (KEY, CURRENT)
        return "{%s}" % member if text == "{}" else "{\n  %s,%s" % (member, text[1:])
    if fmt == "xml":
        return "<!-- %s %d -->\n%s" % (KEY, CURRENT, text)
    return "! %s %d\n%s" % (KEY, CURRENT, text)


def _split(text):
    """(version, text without a JSON version member)."""
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            return 1, text                   # the decoder reports the JSON error
        if isinstance(obj, dict) and KEY in obj:
            version = obj.pop(KEY)
            return version, json.dumps(obj, ensure_ascii=False)
        return 1, text
    match = _MARK.match(text)
    return (int(match.group(1)) if match else 1), text


def upgrade(text):
    """TEXT of any known version as the current version; MigrationError if it is newer or
    its version is not a number this build knows."""
    version, text = _split(text)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MigrationError("configuration format version %r is not valid" % (version,))
    if version > CURRENT:
        raise MigrationError("configuration format %d is newer than this BESIP's (%d): "
                             "load it with a newer BESIP or save it there in format %d"
                             % (version, CURRENT, CURRENT))
    while version < CURRENT:
        text = STEPS[version](text)
        version += 1
    return text
