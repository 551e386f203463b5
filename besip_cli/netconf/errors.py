"""RFC 6241 Appendix A rpc-errors: the exception every operation raises, and its XML."""

import re
import xml.etree.ElementTree as ET

MAX_ECHO = 64          # characters of a client's value an error message quotes
MAX_MESSAGE = 1024     # characters of an error message
_QUOTED = re.compile(r'"([^"]{%d,})"' % (MAX_ECHO + 1))

# Error types RFC 6241 Appendix A gives each tag when no layer is named explicitly.
_DEFAULT_TYPE = {
    "malformed-message": "rpc", "operation-not-supported": "protocol",
    "lock-denied": "protocol", "resource-denied": "application", "in-use": "protocol",
    "missing-attribute": "protocol", "bad-attribute": "protocol",
    "unknown-attribute": "protocol", "missing-element": "protocol",
    "bad-element": "protocol", "unknown-element": "application",
    "unknown-namespace": "protocol", "access-denied": "protocol",
    "data-exists": "application", "data-missing": "application",
    "invalid-value": "application", "too-big": "transport",
    "operation-failed": "application", "rollback-failed": "application",
}


class RpcError(Exception):
    """One <rpc-error>. INFO maps error-info child names (bad-element, session-id...) to a
    text, or to a list of texts (one element each)."""

    def __init__(self, tag, message, type=None, path=None, app_tag=None, info=None,
                 severity="error"):
        super().__init__(message)
        self.tag = tag
        self.type = type or _DEFAULT_TYPE.get(tag, "application")
        self.message = shorten(message)
        self.path = path
        self.app_tag = app_tag
        self.info = info or {}
        self.severity = severity

    def element(self):
        """The <rpc-error> element; unqualified names take the reply's base namespace."""
        err = ET.Element("rpc-error")
        for name, text in (("error-type", self.type), ("error-tag", self.tag),
                           ("error-severity", self.severity), ("error-app-tag", self.app_tag),
                           ("error-path", self.path)):
            if text:
                ET.SubElement(err, name).text = text
        if self.message:
            msg = ET.SubElement(err, "error-message")
            msg.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
            msg.text = self.message
        if self.info:
            info = ET.SubElement(err, "error-info")
            for name, texts in self.info.items():
                for text in texts if isinstance(texts, list) else [texts]:
                    ET.SubElement(info, name).text = str(text)
        return err


def shorten(message):
    """MESSAGE with a long quoted value (a client's oversized input) cut to its start."""
    message = _QUOTED.sub(lambda m: '"%s..." (%d characters)' % (m.group(1)[:MAX_ECHO], len(m.group(1))),
                          message or "")
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "..."


class RpcErrors(Exception):
    """Several rpc-errors in one reply (continue-on-error, commit validation)."""

    def __init__(self, errors):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)
