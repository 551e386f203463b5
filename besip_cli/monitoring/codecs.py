"""Codec impairment values: Ie and Bpl of ITU-T G.113 (11/2007) Appendix I, and the packet
size assumed when SDP gives no ptime; the configuration's codec table overrides or adds
entries. None: no published value, so the E-model cannot rate that codec (Bpl None: only
loss-free directions)."""

# name (SDP encoding name, upper case): (Ie, Bpl, packet ms)
BUILT_IN = {
    "PCMU": (0.0, 25.1, 20),        # G.711 with the packet-loss concealment of G.711 App. I
    "PCMA": (0.0, 25.1, 20),
    "G729": (11.0, 19.0, 20),       # G.729A + VAD, 2 frames per packet
    "G723": (15.0, 16.1, 30),       # G.723.1 6.3 kbit/s + VAD
    "GSM-EFR": (5.0, 10.0, 20),
    "GSM": (20.0, None, 20),        # GSM 06.10 full rate: Ie only
    "G726-32": (7.0, None, 20),
    "G728": (7.0, None, 20),
}
# Static RTP payload types (RFC 3551): (name, clock rate)
STATIC = {0: ("PCMU", 8000), 3: ("GSM", 8000), 4: ("G723", 8000), 8: ("PCMA", 8000),
          9: ("G722", 8000), 13: ("CN", 8000), 15: ("G728", 8000), 18: ("G729", 8000)}
# Encodings that carry no speech (never a stream's codec).
NOT_SPEECH = ("CN", "TELEPHONE-EVENT")


def table(configured=None):
    """{name: (Ie, Bpl, packet ms)}: the built-in values with the CONFIGURED codec list
    (YANG `monitoring voice-quality codec`) on top."""
    out = dict(BUILT_IN)
    for name, entry in (configured or {}).items():
        if "no-published-values" in entry:
            out[name.upper()] = (None, None, int(entry.get("packet-size", 20)))
            continue
        ie, bpl, size = out.get(name.upper(), (None, None, 20))
        out[name.upper()] = (float(entry["ie"]) if "ie" in entry else ie,
                             float(entry["bpl"]) if "bpl" in entry else bpl,
                             int(entry.get("packet-size", size)))
    return out
