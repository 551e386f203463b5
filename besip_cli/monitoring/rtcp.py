"""RTCP (RFC 3550 SR and RR, RFC 3611 XR VoIP metrics), for the round trip a passive
monitor can see: a sender report passes at t1, the receiver's report block quoting it
(LSR) passes back at t2 after DLSR, so that leg's round trip is t2 - t1 - DLSR. The legs
of both parties add up to the call's round trip."""

import struct

SR, RR, XR = 200, 201, 207
VOIP_METRICS = 7
_BLOCK = struct.Struct("!IIIIII")
_XR_VOIP = struct.Struct("!I4B4H4B4B2BH2H")


def packets(payload):
    """Yield (type, sender SSRC, body) of the compound RTCP packet PAYLOAD."""
    offset, end = 0, len(payload)
    while offset + 8 <= end:
        if payload[offset] >> 6 != 2:
            return
        kind = payload[offset + 1]
        length = (struct.unpack_from("!H", payload, offset + 2)[0] + 1) * 4
        if offset + length > end:
            return
        yield kind, struct.unpack_from("!I", payload, offset + 4)[0], payload[offset:offset + length]
        offset += length


def sender_report(body):
    """The middle 32 bits of an SR's NTP time stamp (what a report block's LSR quotes)."""
    if len(body) < 28:
        return None
    msw, lsw = struct.unpack_from("!II", body, 8)
    return ((msw & 0xFFFF) << 16) | (lsw >> 16)


def report_blocks(kind, body):
    """[(source SSRC, fraction lost, cumulative lost, highest seq, jitter, LSR, DLSR)]."""
    count, start = body[0] & 0x1F, 28 if kind == SR else 8
    out = []
    for i in range(count):
        at = start + 24 * i
        if at + 24 > len(body):
            break
        ssrc, lost, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(body, at)
        cumulative = lost & 0xFFFFFF
        out.append((ssrc, lost >> 24, cumulative - (1 << 24) if cumulative & 0x800000 else cumulative,
                    highest, jitter, lsr, dlsr))
    return out


def voip_metrics(body):
    """[(source SSRC, {metric: value})] of the VoIP metrics blocks of an XR packet."""
    out, offset = [], 8
    while offset + 4 <= len(body):
        block, length = body[offset], (struct.unpack_from("!H", body, offset + 2)[0] + 1) * 4
        if block == VOIP_METRICS and offset + 36 <= len(body):
            v = _XR_VOIP.unpack_from(body, offset + 4)
            out.append((v[0], {
                "loss_rate": v[1] / 256 * 100, "discard_rate": v[2] / 256 * 100,
                "burst_density": v[3] / 256 * 100, "gap_density": v[4] / 256 * 100,
                "burst_duration": v[5], "gap_duration": v[6], "round_trip_delay": v[7],
                "end_system_delay": v[8], "r_factor": _unavailable(v[13]),
                "mos_lq": _unavailable(v[15], 10), "mos_cq": _unavailable(v[16], 10),
                "jb_nominal": v[19], "jb_maximum": v[20]}))
        offset += length
    return out


def _unavailable(value, scale=1):
    return None if value == 127 else value / scale
