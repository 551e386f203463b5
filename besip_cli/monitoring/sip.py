"""SIP over UDP, as far as the monitor needs it: the Call-ID, the parties (user parts of
From and To), the From tag, the method or status, and the SDP body's audio address,
port, payload types (rtpmap names and clock rates) and ptime."""

import ipaddress
import re

METHODS = (b"INVITE", b"ACK", b"BYE", b"CANCEL", b"OPTIONS", b"REGISTER", b"PRACK",
           b"UPDATE", b"INFO", b"NOTIFY", b"SUBSCRIBE", b"MESSAGE", b"REFER", b"PUBLISH")
COMPACT = {"i": "call-id", "f": "from", "t": "to", "c": "content-type", "l": "content-length"}
_USER = re.compile(r"sips?:([^@;>\s]+)@")
_TAG = re.compile(r";\s*tag=([^;>\s]+)", re.I)
MAX_TEXT = 64               # characters kept of a party's name


class Message:
    __slots__ = ("method", "status", "call_id", "caller", "callee", "from_tag", "cseq", "sdp")


def looks_like_sip(payload):
    return payload.startswith(b"SIP/2.0 ") or payload.split(b" ", 1)[0] in METHODS


def parse(payload):
    """The Message in the UDP PAYLOAD, or None when it is not a SIP message."""
    try:
        text = payload.decode("utf-8", "replace")
    except ValueError:
        return None
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2:
        return None
    m = Message()
    if first[0] == "SIP/2.0":
        m.method, m.status = None, int(first[1]) if first[1].isdigit() else 0
    else:
        m.method, m.status = first[0], None
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            name = name.strip().lower()
            headers.setdefault(COMPACT.get(name, name), value.strip())
    m.call_id = headers.get("call-id")
    if not m.call_id:
        return None
    m.caller, m.callee = _user(headers.get("from", "")), _user(headers.get("to", ""))
    tag = _TAG.search(headers.get("from", ""))
    m.from_tag = tag.group(1) if tag else ""
    m.cseq = headers.get("cseq", "").split(" ")[-1].upper()
    m.sdp = sdp(body) if "application/sdp" in headers.get("content-type", "").lower() else None
    return m


def _user(value):
    found = _USER.search(value)
    return visible_text(found.group(1) if found else value.strip("<> ")[:MAX_TEXT])


def visible_text(text):
    return "".join(c for c in text[:MAX_TEXT] if c.isprintable())


def sdp(body):
    """{address, port, formats: {pt: (name, clock)}, order: [pt], ptime} of the first audio
    stream of an SDP BODY, or None (none, or a port of 0: no audio)."""
    address, media, formats, order, ptime, port = None, None, {}, [], None, 0
    for line in body.splitlines():
        if line.startswith("c=") and (media is None or media == "audio"):
            parts = line[2:].split()
            if len(parts) == 3:
                address = parts[2].split("/")[0]
        elif line.startswith("m="):
            if media == "audio":
                break
            parts = line[2:].split()
            media = parts[0] if parts else ""
            if media == "audio" and len(parts) >= 3:
                port = int(parts[1]) if parts[1].isdigit() else 0
                order = [int(p) for p in parts[3:] if p.isdigit()]
        elif media == "audio" and line.startswith("a=rtpmap:"):
            pt, _, rest = line[9:].partition(" ")
            name, _, clock = rest.partition("/")
            if pt.isdigit():
                formats[int(pt)] = (name.upper(), int(clock.split("/")[0]) if clock.split("/")[0].isdigit() else 8000)
        elif media == "audio" and line.startswith("a=ptime:"):
            ptime = int(line[8:]) if line[8:].strip().isdigit() else None
    if media is None or address is None or not order or not port:
        return None
    try:
        address = ipaddress.ip_address(address).packed
    except ValueError:
        return None
    return {"address": address, "port": port, "formats": formats, "order": order, "ptime": ptime}
