"""The project's own capture generator: SIP calls with SDP and their RTP (and RTCP)
streams with chosen loss patterns, jitter, reordering, duplicates, wraps and codecs,
written as pcap (Ethernet, IPv4 or IPv6) for the monitor and tshark to analyse."""

import heapq
import ipaddress
import struct

from besip_cli.monitoring import pcap


def udp_frame(src, sport, dst, dport, payload):
    """An Ethernet frame carrying one UDP datagram (IPv4 or IPv6 by the addresses)."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if s.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, s.packed, d.packed)
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        kind = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, s.packed, d.packed)
        kind = 0x86DD
    return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02" + struct.pack("!H", kind) + ip + udp


def _checksum(header):
    total = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def write(path, *sources):
    """Write the packets of SOURCES (iterables of (time, src, sport, dst, dport, payload),
    each in time order) merged in time order into the pcap file PATH; returns the count."""
    out, n = pcap.Writer(path), 0
    for t, src, sport, dst, dport, payload in heapq.merge(*sources, key=lambda p: p[0]):
        out.write(t, udp_frame(src, sport, dst, dport, payload))
        n += 1
    out.close()
    return n


def rtp(src, dst, count, start=0.0, ssrc=0x1234, pt=0, ptime=20, clock=8000, seq=0, ts=0,
        lose=(), jitter=None, swap=(), duplicate=(), size=160):
    """The arriving packets of an RTP stream from SRC to DST ((address, port) each): COUNT
    packets sent every PTIME ms from START (s), the first with the marker bit, sequence
    numbers from SEQ and time stamps from TS (both wrap); packets at the indices in LOSE
    never arrive, those in DUPLICATE arrive twice, packet i of SWAP arrives after i+1;
    JITTER(i) adds ms to packet i's arrival."""
    lose, swap, duplicate = set(lose), set(swap), set(duplicate)
    pending = []
    for i in range(count):
        if i in lose:
            continue
        header = struct.pack("!BBHII", 0x80, pt | (0x80 if i == 0 else 0), (seq + i) & 0xFFFF,
                             (ts + i * ptime * clock // 1000) & 0xFFFFFFFF, ssrc)
        t = start + i * ptime / 1000.0 + (jitter(i) / 1000.0 if jitter else 0.0)
        if i in swap:
            t += ptime / 1000.0 * 1.5
        packet = (t, src[0], src[1], dst[0], dst[1], header + b"\xd5" * size)
        heapq.heappush(pending, packet)
        if i in duplicate:
            heapq.heappush(pending, (t + 0.0001,) + packet[1:])
        while pending and pending[0][0] < t - 1.0:
            yield heapq.heappop(pending)
    while pending:
        yield heapq.heappop(pending)


def sdp(address, port, formats, ptime=None):
    """An SDP body offering FORMATS [(pt, name, clock)] at ADDRESS:PORT."""
    family = "IP6" if ":" in address else "IP4"
    lines = ["v=0", "o=- 1 1 IN %s %s" % (family, address), "s=-", "c=IN %s %s" % (family, address),
             "t=0 0", "m=audio %d RTP/AVP %s" % (port, " ".join(str(f[0]) for f in formats))]
    lines += ["a=rtpmap:%d %s/%d" % f for f in formats]
    if ptime:
        lines.append("a=ptime:%d" % ptime)
    return "\r\n".join(lines) + "\r\n"


def sip(first, call_id, caller, callee, tag, cseq, body=None, to_tag=""):
    """A SIP message (request line or status line FIRST)."""
    lines = [first, "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK%s" % tag,
             "From: <sip:%s@example.com>;tag=%s" % (caller, tag),
             "To: <sip:%s@example.com>%s" % (callee, ";tag=" + to_tag if to_tag else ""),
             "Call-ID: %s" % call_id, "CSeq: %s" % cseq, "Max-Forwards: 70"]
    if body:
        lines += ["Content-Type: application/sdp", "Content-Length: %d" % len(body)]
    else:
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n" + (body or "")).encode()


def call(call_id, a, b, a_media, b_media, start, length, formats=((0, "PCMU", 8000),),
         caller="100", callee="101", ptime=None):
    """The SIP messages of a call from A to B ((address, port) each): INVITE with
    A_MEDIA's SDP at START, 200 with B_MEDIA's, ACK, and BYE at START + LENGTH (s)."""
    tag = "t" + call_id
    offer = sdp(a_media[0], a_media[1], formats, ptime)
    answer = sdp(b_media[0], b_media[1], formats, ptime)
    messages = [
        (start, a, b, sip("INVITE sip:%s@example.com SIP/2.0" % callee, call_id, caller, callee, tag, "1 INVITE", offer)),
        (start + 0.01, b, a, sip("SIP/2.0 200 OK", call_id, caller, callee, tag, "1 INVITE", answer, "b")),
        (start + 0.02, a, b, sip("ACK sip:%s@example.com SIP/2.0" % callee, call_id, caller, callee, tag, "1 ACK", None, "b")),
        (start + length, a, b, sip("BYE sip:%s@example.com SIP/2.0" % callee, call_id, caller, callee, tag, "2 BYE", None, "b")),
    ]
    return [(t, s[0], s[1], d[0], d[1], payload) for t, s, d, payload in messages]


def play(*sources):
    """Send the packets of SOURCES (as write() takes them) in real time over UDP, each from
    its own source address and port (for a live capture to see)."""
    import socket
    import time
    sockets, begin = {}, time.monotonic()
    for t, src, sport, dst, dport, payload in heapq.merge(*sources, key=lambda p: p[0]):
        sock = sockets.get((src, sport))
        if sock is None:
            sock = sockets[(src, sport)] = socket.socket(
                socket.AF_INET6 if ":" in src else socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((src, sport))
        delay = begin + t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sock.sendto(payload, (dst, dport))
    for sock in sockets.values():
        sock.close()


def flood(src, dst, count, ports=10000, seed=1):
    """COUNT random UDP datagrams from SRC to DST's address, on ports from DST's up to PORTS
    above it, every 0.1 ms; most look like RTP (version 2) with random SSRCs."""
    import random
    rnd = random.Random(seed)
    for i in range(count):
        payload = bytes([0x80 | rnd.getrandbits(6), rnd.getrandbits(8)]) + rnd.randbytes(rnd.randint(10, 200))
        yield i / 10000.0, src[0], src[1], dst[0], dst[1] + rnd.randrange(ports), payload
