"""Capture files: pcap (both byte orders, micro- and nanosecond stamps) and pcapng
(section, interface, enhanced and simple packet blocks), read with struct only (tshark is
not in OpenWrt's feeds), and a pcap writer for the project's own test captures."""

import struct

# Link types of the frames we decode (packets.py).
LINK_ETHERNET, LINK_RAW, LINK_SLL, LINK_IPV4, LINK_IPV6, LINK_SLL2 = 1, 101, 113, 228, 229, 276
LINK_NULL, LINK_LOOP = 0, 108

PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
              b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
CHUNK = 1 << 20                 # bytes read at a time: memory stays bounded for any file size
MAX_RECORD = 1 << 18            # a longer record means a damaged file, not a packet


class CaptureError(Exception):
    """The file is not a capture this reader understands, or it is damaged."""


def read(path):
    """Yield (time in seconds, link type, frame bytes) of every packet of the file PATH."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            f.seek(0)
            if head in PCAP_MAGIC:
                yield from _pcap(f)
            elif head == PCAPNG_SHB:
                yield from _pcapng(f)
            else:
                raise CaptureError("%s is neither a pcap nor a pcapng file" % path)
    except OSError as exc:
        raise CaptureError("cannot read %s: %s" % (path, exc.strerror or exc))


def _pcap(f):
    header = f.read(24)
    if len(header) < 24:
        raise CaptureError("truncated pcap header")
    order, unit = PCAP_MAGIC[header[:4]]
    link = struct.unpack(order + "I", header[20:24])[0] & 0x0FFFFFFF
    unpack = struct.Struct(order + "IIII").unpack_from
    data, offset, size = b"", 0, 0
    while True:
        if offset + 16 <= size:
            sec, frac, caplen, _ = unpack(data, offset)
            end = offset + 16 + caplen
            if end <= size:
                yield sec + frac * unit, link, data[offset + 16:end]
                offset = end
                continue
            if caplen > MAX_RECORD:
                raise CaptureError("damaged pcap record (%d bytes)" % caplen)
        more = f.read(CHUNK)
        if not more:
            return                          # the end, or a capture cut short: keep what is whole
        data, offset = data[offset:] + more, 0
        size = len(data)


def _pcapng(f):
    order, links = "<", []
    data, offset = b"", 0
    while True:
        if offset + 12 > len(data) or offset + _length(data, offset, order) > len(data):
            more = f.read(CHUNK)
            if not more:
                return
            data, offset = data[offset:] + more, 0
            continue
        if data[offset:offset + 4] == PCAPNG_SHB:
            magic = data[offset + 8:offset + 12]
            order = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">" if magic == b"\x1a\x2b\x3c\x4d" else None
            if order is None:
                raise CaptureError("bad pcapng byte-order magic")
            links = []
        btype, length = struct.unpack_from(order + "II", data, offset)
        if length < 12 or length > MAX_RECORD:
            raise CaptureError("damaged pcapng block")
        if btype == 1:                      # interface description: link type, time resolution
            links.append((struct.unpack_from(order + "H", data, offset + 8)[0],
                          _resolution(data, offset + 16, offset + length - 4, order)))
        elif btype == 6:                    # enhanced packet
            iface, high, low, caplen = struct.unpack_from(order + "IIII", data, offset + 8)
            if iface < len(links):
                link, unit = links[iface]
                yield ((high << 32) | low) * unit, link, data[offset + 28:offset + 28 + caplen]
        elif btype == 3 and links:          # simple packet: no time stamp
            caplen = min(struct.unpack_from(order + "I", data, offset + 8)[0], length - 16)
            yield 0.0, links[0][0], data[offset + 12:offset + 12 + caplen]
        offset += length


def _length(data, offset, order):
    """The total length of the pcapng block at OFFSET (a section header's in its own order)."""
    if data[offset:offset + 4] == PCAPNG_SHB:
        order = "<" if data[offset + 8:offset + 12] == b"\x4d\x3c\x2b\x1a" else ">"
    return min(MAX_RECORD, max(12, struct.unpack_from(order + "I", data, offset + 4)[0]))


def _resolution(data, offset, end, order):
    """The if_tsresol option of an interface block (default: microseconds)."""
    while offset + 4 <= end:
        code, size = struct.unpack_from(order + "HH", data, offset)
        if code == 0:
            break
        if code == 9 and size >= 1:
            value = data[offset + 4]
            return 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0 ** -value
        offset += 4 + (size + 3) // 4 * 4
    return 1e-6


class Writer:
    """A pcap file (microsecond stamps, LINK) written packet by packet."""

    def __init__(self, path, link=LINK_ETHERNET):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link))

    def write(self, stamp, frame):
        usec = round(stamp * 1e6)
        self.f.write(struct.pack("<IIII", usec // 1000000, usec % 1000000, len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()
