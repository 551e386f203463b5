"""Frames to UDP datagrams: Ethernet (with VLAN tags), Linux cooked (SLL, SLL2), BSD
loopback and raw IP; IPv4 (unfragmented or first fragments only) and IPv6 (skipping
extension headers). Addresses stay bytes until a stream is reported."""

import ipaddress
import struct

from . import pcap

ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
IPV6_EXTENSIONS = (0, 43, 60)       # hop-by-hop, routing, destination options
_U16 = struct.Struct("!H")
_PORTS = struct.Struct("!HH")


def ip_offset(link, frame):
    """(offset of the IP header, its version) in FRAME of LINK, or None for other frames."""
    if link == pcap.LINK_ETHERNET:
        offset, kind = 12, _U16.unpack_from(frame, 12)[0] if len(frame) >= 14 else 0
        while kind in (ETH_VLAN, ETH_QINQ) and len(frame) >= offset + 6:
            offset += 4
            kind = _U16.unpack_from(frame, offset)[0]
        offset += 2
    elif link == pcap.LINK_SLL:
        offset, kind = 16, _U16.unpack_from(frame, 14)[0] if len(frame) >= 16 else 0
    elif link == pcap.LINK_SLL2:
        offset, kind = 20, _U16.unpack_from(frame, 0)[0] if len(frame) >= 20 else 0
    elif link in (pcap.LINK_RAW, pcap.LINK_IPV4, pcap.LINK_IPV6):
        return (0, frame[0] >> 4) if frame else None
    elif link in (pcap.LINK_NULL, pcap.LINK_LOOP):
        return (4, frame[4] >> 4) if len(frame) > 4 else None
    else:
        return None
    if kind == ETH_IPV4:
        return offset, 4
    if kind == ETH_IPV6:
        return offset, 6
    return None


def udp(frame, offset, version):
    """(source address bytes, source port, destination address bytes, destination port,
    payload) of the UDP datagram in the IP packet at OFFSET of FRAME, else None."""
    if version == 4:
        if len(frame) < offset + 28 or frame[offset + 9] != 17 or frame[offset + 6] & 0x1F or frame[offset + 7]:
            return None             # not UDP, or a fragment other than the first
        src, dst = frame[offset + 12:offset + 16], frame[offset + 16:offset + 20]
        total = _U16.unpack_from(frame, offset + 2)[0]
        start, end = offset + (frame[offset] & 0x0F) * 4, min(len(frame), offset + total)
    elif version == 6:
        if len(frame) < offset + 48:
            return None
        src, dst = frame[offset + 8:offset + 24], frame[offset + 24:offset + 40]
        nxt, start = frame[offset + 6], offset + 40
        end = min(len(frame), start + _U16.unpack_from(frame, offset + 4)[0])
        while nxt in IPV6_EXTENSIONS and start + 8 <= end:
            nxt, start = frame[start], start + (frame[start + 1] + 1) * 8
        if nxt != 17:
            return None
    else:
        return None
    if start + 8 > end:
        return None
    sport, dport = _PORTS.unpack_from(frame, start)
    return src, sport, dst, dport, frame[start + 8:end]


def address(raw):
    """The text form of an address in bytes."""
    return str(ipaddress.ip_address(raw))
