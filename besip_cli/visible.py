"""Text as a message may show it: invisible characters written as \\uXXXX."""

import unicodedata


def visible(text):
    """TEXT with control, format and line-separator characters written as \\uXXXX."""
    return "".join("\\u%04x" % ord(ch) if unicodedata.category(ch)[0] == "C"
                   or unicodedata.category(ch) in ("Zl", "Zp") else ch for ch in text)
