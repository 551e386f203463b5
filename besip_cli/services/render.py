"""Jinja2 templates under render/ and the quoting filters of each target syntax.

Every value is either refused by the YANG patterns or quoted here; the filters also
refuse what no quoting can carry (line breaks), so no value can add lines or syntax.
"""

import os

import jinja2

from .errors import ServiceError

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "render")


def _single_line(value):
    value = str(value)
    if any(c in value for c in "\r\n\x00") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ServiceError("value %r contains a control character and cannot be written" % value)
    return value


def uci_quote(value):
    """A UCI value in single quotes ('\\'' for a quote)."""
    return "'" + _single_line(value).replace("'", "'\\''") + "'"


def kamailio_string(value):
    """A Kamailio cfg string literal ("..." with \\ and \" escaped)."""
    return '"' + _single_line(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def nft_comment(value):
    """An nftables comment literal: nft has no escapes, so '"' and '\\' are refused; cut
    to the 128 bytes the kernel keeps (comments only inform)."""
    value = _single_line(value)
    if '"' in value or "\\" in value:
        raise ServiceError("value %r cannot be written to an nftables file (a quote or a "
                           "backslash)" % value)
    return '"' + value.encode()[:128].decode(errors="ignore") + '"'


def asterisk_value(value):
    """An Asterisk config value: ';' escaped; Asterisk has no escape for a backslash and
    strips surrounding spaces, so those are refused."""
    value = _single_line(value)
    if value != value.strip() or "\\" in value:
        raise ServiceError("value %r cannot be written to Asterisk's files (backslash or "
                           "surrounding space)" % value)
    return value.replace(";", "\\;")


def asterisk_field(value):
    """One comma-separated field of voicemail.conf (',' and '|' cannot be escaped there)."""
    return asterisk_value(str(value).replace(",", " ").replace("|", " ").strip())


def asterisk_exten(value):
    """A literal dialplan extension: a leading '_' would make it a pattern and Asterisk
    drops '-' from extension names, so those are refused."""
    value = asterisk_value(value)
    if value.startswith("_") or "-" in value or "," in value:
        raise ServiceError("%r cannot be a dialplan extension (a leading '_', a '-' or a ',')"
                           % value)
    return value


_env = None


def render(name, **values):
    """Render the template NAME (e.g. 'uci/system') to bytes."""
    global _env
    if _env is None:
        _env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                                  undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                  trim_blocks=True, lstrip_blocks=True)
        _env.filters.update(uci=uci_quote, kam=kamailio_string, ast=asterisk_value,
                            astfield=asterisk_field, exten=asterisk_exten,
                            nft=nft_comment)
    return _env.get_template(name).render(**values).encode()
