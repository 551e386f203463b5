"""Packets to rated calls: SIP and SDP tie RTP streams to calls, parties, directions and
codecs; each direction's streams (one per SSRC) are summed up and rated with the E-model.

A direction is named from the caller: "->" is the media the callee receives (sent to the
address the callee's SDP gives), "<-" what the caller receives. Streams whose destination
no SDP announced are kept only when analysing a file (`untied`), so a flood of random UDP
on the RTP ports creates nothing live; calls and streams are capped in number
(MAX_CALLS, MAX_STREAMS, MAX_SSRCS per direction), a call without media expires after
IDLE seconds and one that never ends is rated and restarted every MAX_CALL seconds.
"""

import struct

from . import codecs, emodel, packets, pcap, rtcp, sip
from .streams import Stream

MAX_CALLS = 2000
MAX_STREAMS = 4000
MAX_SSRCS = 4           # streams (SSRCs) of one direction of a call
IDLE = 60.0             # seconds without a packet: the call is over
MAX_CALL = 3600.0
_RTP = struct.Struct("!HII")
_RTP_AT_42 = struct.Struct("!BBHII")
_PORTS = struct.Struct("!HH")


def lookup_key(src, sport, dst, dport, ssrc):
    """A stream's key in Analyzer.streams: the addresses and ports as they follow each other
    in an IPv4 header and its UDP header (so a frame's bytes 26-38 are it), and the SSRC."""
    return src + dst + _PORTS.pack(sport, dport), ssrc


class Options:
    """What the configuration says (YANG besip-monitoring, defaults filled in)."""

    def __init__(self, buffer="adaptive", buffer_max=60, delay=20, codec_table=None,
                 ports=(10000, 20000), threshold=3.6):
        self.buffer, self.buffer_max, self.delay = buffer, buffer_max, delay
        self.codecs = codecs.table(codec_table)
        self.ports, self.threshold = ports, threshold

    @classmethod
    def of(cls, vq):
        """From the `monitoring voice-quality` subtree VQ."""
        jb, ports = vq["jitter-buffer"], vq["rtp-ports"]
        return cls(jb["type"], int(jb["size"]), int(vq["one-way-delay"]), vq.get("codec", {}),
                   (int(ports["from"]), int(ports["to"])), float(vq["alarm-threshold"]))


class Call:
    __slots__ = ("call_id", "caller", "callee", "caller_tag", "start", "end", "media", "streams",
                 "sr_seen", "legs", "xr")

    def __init__(self, m, now):
        self.call_id, self.caller, self.callee, self.caller_tag = m.call_id, m.caller, m.callee, m.from_tag
        self.start, self.end = now, None
        self.media = {}         # direction -> SDP of the party receiving it
        self.streams = {}       # direction -> [Stream]
        self.sr_seen = {}       # (SSRC, NTP middle 32 bits) -> time the SR passed
        self.legs = {}          # RTCP sender (address, port) -> round trip of its leg (s)
        self.xr = {}            # direction -> the receiver's RFC 3611 VoIP metrics


class Analyzer:
    def __init__(self, options=None, untied=False):
        self.options = options or Options()
        self.untied = untied
        self.calls = {}         # Call-ID -> Call
        self.endpoints = {}     # (address bytes, port) -> (Call, direction)
        self.streams = {}       # lookup_key(...) -> (Stream, Call or None, direction)
        self.done = []          # rated calls not yet taken()
        self.ignored = 0

    # ---------------------------------------------------------------- input

    def file(self, path):
        """Analyse the capture file PATH; returns the rated calls."""
        ip_offset, udp, streams, rtp = packets.ip_offset, packets.udp, self.streams, _RTP_AT_42.unpack_from
        for stamp, link, frame in pcap.read(path):
            # the usual frame first, without a call: Ethernet, IPv4 without options, UDP,
            # RTP of a stream already followed (the lookup key is frame[26:38])
            if link == pcap.LINK_ETHERNET and frame[12:15] == b"\x08\x00\x45" and frame[23] == 17 \
                    and not (frame[20] & 0x1F or frame[21]) and len(frame) >= 54:
                b0, kind, seq, ts, ssrc = rtp(frame, 42)
                if b0 >> 6 == 2 and not 200 <= kind <= 207:
                    entry = streams.get((frame[26:38], ssrc))
                    if entry is not None:
                        entry[0].add(stamp * 1000.0, seq, ts, kind & 0x80, kind & 0x7F)
                        continue
            where = ip_offset(link, frame)
            if where is not None:
                datagram = udp(frame, where[0], where[1])
                if datagram is not None:
                    self.datagram(stamp, *datagram)
        self.finish()
        return self.take()

    def datagram(self, now, src, sport, dst, dport, payload):
        """One UDP datagram seen at NOW (seconds)."""
        if len(payload) >= 12 and payload[0] >> 6 == 2:
            kind = payload[1]
            if 200 <= kind <= 207:
                self._rtcp(now, src, sport, dst, dport, payload)
                return
            seq, ts, ssrc = _RTP.unpack_from(payload, 2)
            entry = self.streams.get(lookup_key(src, sport, dst, dport, ssrc))
            if entry is None:
                entry = self._new_stream(src, sport, dst, dport, ssrc, kind & 0x7F)
                if entry is None:
                    return
            entry[0].add(now * 1000.0, seq, ts, kind & 0x80, kind & 0x7F)
        elif sip.looks_like_sip(payload):
            m = sip.parse(payload)
            if m is not None:
                self._sip(now, m)

    # ---------------------------------------------------------------- SIP

    def _sip(self, now, m):
        call = self.calls.get(m.call_id)
        if call is None:
            if m.method != "INVITE":
                return
            if len(self.calls) >= MAX_CALLS:
                self._close(min(self.calls.values(), key=lambda c: c.start))
            call = self.calls[m.call_id] = Call(m, now)
        if m.sdp is not None:
            # a request's SDP is its sender's, a response's the other party's
            from_caller = m.from_tag == call.caller_tag
            sender_is_caller = from_caller if m.method else not from_caller
            direction = "<-" if sender_is_caller else "->"
            old = call.media.get(direction)
            if old is not None:
                self.endpoints.pop((old["address"], old["port"]), None)
            call.media[direction] = m.sdp
            self.endpoints[(m.sdp["address"], m.sdp["port"])] = (call, direction)
        if m.method == "BYE" or (m.cseq == "INVITE" and m.status and m.status >= 300 and not call.streams):
            call.end = now

    # ---------------------------------------------------------------- RTP

    def _new_stream(self, src, sport, dst, dport, ssrc, pt):
        tied = self.endpoints.get((dst, dport))
        low, high = self.options.ports
        if tied is None and not (self.untied and low <= dport <= high):
            self.ignored += 1
            return None
        if len(self.streams) >= MAX_STREAMS:
            self.ignored += 1
            return None
        call, direction = tied or (None, None)
        if call is not None and len(call.streams.get(direction, ())) >= MAX_SSRCS:
            self.ignored += 1
            return None
        name, clock, ptime = self._format(call, direction, pt)
        size = ptime or self.options.codecs.get(name, (None, None, 20))[2]
        stream = Stream((src, sport, dst, dport, ssrc), pt, clock, size,
                        (self.options.buffer, self.options.buffer_max))
        entry = self.streams[lookup_key(*stream.key)] = (stream, call, direction)
        if call is not None:
            call.streams.setdefault(direction, []).append(stream)
        return entry

    @staticmethod
    def _format(call, direction, pt):
        """(encoding name, clock rate, ptime or None) of payload type PT: the receiver's
        SDP, else the sender's, else the static table."""
        if call is not None:
            for d in (direction, "<-" if direction == "->" else "->"):
                offer = call.media.get(d)
                if offer and pt in offer["formats"]:
                    name, clock = offer["formats"][pt]
                    return name, clock, offer["ptime"]
            ptime = (call.media.get(direction) or {}).get("ptime")
        else:
            ptime = None
        name, clock = codecs.STATIC.get(pt, ("PT%d" % pt, 0))
        return name, clock, ptime

    # ---------------------------------------------------------------- RTCP

    def _rtcp(self, now, src, sport, dst, dport, payload):
        tied = self.endpoints.get((dst, dport - 1)) or self.endpoints.get((dst, dport))
        if tied is None:
            return
        call, direction = tied
        for kind, ssrc, body in rtcp.packets(payload):
            if kind == rtcp.SR:
                middle = rtcp.sender_report(body)
                if middle is not None:
                    if len(call.sr_seen) >= 16:
                        call.sr_seen.pop(next(iter(call.sr_seen)))
                    call.sr_seen[(ssrc, middle)] = now
            if kind in (rtcp.SR, rtcp.RR):
                for source, _, _, _, _, lsr, dlsr in rtcp.report_blocks(kind, body):
                    passed = call.sr_seen.get((source, lsr)) if lsr else None
                    if passed is not None and now - passed - dlsr / 65536 >= 0:
                        call.legs[(src, sport)] = now - passed - dlsr / 65536
            elif kind == rtcp.XR:
                for _, metrics in rtcp.voip_metrics(body):
                    # the XR's sender receives the direction the RTCP does not go
                    call.xr["<-" if direction == "->" else "->"] = metrics

    # ---------------------------------------------------------------- output

    def expire(self, now):
        """Rate the calls that are over (ended, idle or too long) at NOW (seconds)."""
        for call in list(self.calls.values()):
            last = max([call.start] + [s.last_time / 1000.0 for ss in call.streams.values() for s in ss])
            if (call.end is not None and now - call.end > 2) or now - last > IDLE \
                    or now - call.start > MAX_CALL:
                self._close(call)
        for key, (stream, call, _) in list(self.streams.items()):
            if call is None and now - stream.last_time / 1000.0 > IDLE:
                self._close_untied(key)

    def finish(self):
        """Rate everything (the end of a file, or of the monitor)."""
        for call in list(self.calls.values()):
            self._close(call)
        for key in [k for k, v in self.streams.items() if v[1] is None]:
            self._close_untied(key)

    def take(self):
        done, self.done = self.done, []
        return done

    def _close(self, call):
        del self.calls[call.call_id]
        for sdp in call.media.values():
            if self.endpoints.get((sdp["address"], sdp["port"]), (None,))[0] is call:
                del self.endpoints[(sdp["address"], sdp["port"])]
        for streams in call.streams.values():
            for s in streams:
                self.streams.pop(lookup_key(*s.key), None)
        directions = [self._direction(call, d, call.streams[d]) for d in ("->", "<-") if d in call.streams]
        if directions:
            self.done.append({"call_id": call.call_id, "caller": call.caller, "callee": call.callee,
                              "start": call.start, "end": call.end, "directions": directions})

    def _close_untied(self, key):
        stream = self.streams.pop(key)[0]
        src, sport, dst, dport, _ = stream.key
        self.done.append({"call_id": None, "caller": "%s:%d" % (packets.address(src), sport),
                          "callee": "%s:%d" % (packets.address(dst), dport),
                          "start": stream.first_time / 1000.0, "end": stream.last_time / 1000.0,
                          "directions": [self._direction(None, "->", [stream])]})

    def _direction(self, call, direction, streams):
        """The summed-up numbers and the E-model rating of one direction's STREAMS."""
        parts = [s.summary() for s in streams]
        last, first = parts[-1], streams[0]
        name, _, _ = self._format(call, direction, last["payload_type"])
        src, sport, dst, dport, _ = first.key
        out = {"direction": direction, "codec": name, "source": "%s:%d" % (packets.address(src), sport),
               "destination": "%s:%d" % (packets.address(dst), dport), "ssrc_changes": len(parts) - 1,
               "streams": parts, "jitter": last["jitter"], "max_jitter": max(p["max_jitter"] for p in parts)}
        for field in ("received", "expected", "lost", "duplicates", "reordered", "discarded", "impaired", "bursts"):
            out[field] = sum(p[field] for p in parts)
        expected = out["expected"]
        out["loss"] = 100.0 * max(0, out["lost"]) / expected
        ppl = 100.0 * out["impaired"] / expected
        out["burst_ratio"] = (out["impaired"] / out["bursts"] * (1 - ppl / 100)
                              if out["bursts"] and ppl < 100 else 1.0)
        out.update(self._delay(call, direction, first.packet_ms, last["buffer_delay"]))
        ie, bpl, _ = self.options.codecs.get(name, (None, None, 20))
        rated = emodel.rate(ie, bpl, ppl, out["burst_ratio"], out["delay"]) if name not in codecs.NOT_SPEECH else None
        out["r"] = out["mos"] = out["r_listening"] = out["mos_listening"] = None
        if rated is not None:
            out.update(rated)
        out["rated"] = rated is not None
        out["xr"] = call.xr.get(direction) if call is not None else None
        return out

    def _delay(self, call, direction, packet_ms, buffer):
        """{delay (mouth to ear, ms), network_delay, measured}: half the RTCP round trip
        (both legs, or the phone's XR report) or the configured assumption, plus the jitter
        buffer's mean delay and one packet."""
        network, measured = float(self.options.delay), False
        if call is not None and len(call.legs) >= 2:
            network, measured = sum(sorted(call.legs.values())[-2:]) * 1000 / 2, True
        elif call is not None and call.xr.get(direction, {}).get("round_trip_delay"):
            network, measured = call.xr[direction]["round_trip_delay"] / 2, True
        return {"network_delay": network, "delay_measured": measured,
                "delay": network + buffer + packet_ms}


def analyze(path, options=None):
    """The rated calls of capture file PATH (pcap.CaptureError if it is not one)."""
    return Analyzer(options, untied=True).file(path)
