"""The E-model of ITU-T G.107 (06/2015), narrowband: the transmission rating R and its
mapping to MOS (Annex B).

    R = Ro - Is - Id - Ie,eff + A

with every term computed from its formula (clause 7): Ro from the noise powers No, Is from
Iolr, Ist and Iq, Id = Idte + Idle + Idd (talker echo, listener echo, absolute delay with
mT and sT), Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl). Parameters not measured
keep the defaults of Table 3 (a "default" connection scores R = 93.2).

Delay model: one mouth-to-ear delay Ta (ms) per direction, taken as the echo path's
one-way delay too: T = Ta and Tr = 2 * Ta (the four-wire loop round trip). Listening
quality is the same computation with no delay (T = Tr = Ta = 0), so only loss and codec
count. A burst ratio below 1 (loss more even than random) is taken as 1, the range G.107
defines. The MOS polynomial dips to 0.988 for R near 3; MOS is kept at the scale's floor 1.
"""

import math

DEFAULTS = {
    "SLR": 8.0, "RLR": 2.0, "STMR": 15.0, "LSTR": 18.0, "Ds": 3.0, "Dr": 3.0, "TELR": 65.0,
    "WEPL": 110.0, "T": 0.0, "Tr": 0.0, "Ta": 0.0, "qdu": 1.0, "Ie": 0.0, "Bpl": 4.3,
    "Ppl": 0.0, "BurstR": 1.0, "Nc": -70.0, "Nfor": -64.0, "Ps": 35.0, "Pr": 35.0, "A": 0.0,
    "mT": 100.0, "sT": 1.0,
}


def rating(**given):
    """R of G.107 for the parameters GIVEN (names as in Table 3; the rest default)."""
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise ValueError("not G.107 parameters: %s" % ", ".join(sorted(unknown)))
    p = dict(DEFAULTS, **given)
    slr, rlr, stmr, ds = p["SLR"], p["RLR"], p["STMR"], p["Ds"]
    olr = slr + rlr
    # 7.2 basic signal-to-noise ratio
    pre = p["Pr"] + 10 * math.log10(1 + 10 ** ((10 - p["LSTR"]) / 10))
    nos = p["Ps"] - slr - ds - 100 + 0.004 * (p["Ps"] - olr - ds - 14) ** 2
    nor = rlr - 121 + pre + 0.008 * (pre - 35) ** 2
    nfo = p["Nfor"] + rlr
    no = 10 * math.log10(sum(10 ** (n / 10) for n in (p["Nc"], nos, nor, nfo)))
    ro = 15 - 1.5 * (slr + no)
    # 7.3 simultaneous impairment factor
    xolr = olr + 0.2 * (64 + no - rlr)
    iolr = 20 * ((1 + (xolr / 8) ** 8) ** (1 / 8) - xolr / 8)
    t = p["T"]
    stmro = -10 * math.log10(10 ** (-stmr / 10) + math.exp(-t / 4) * 10 ** (-p["TELR"] / 10))
    ist = (12 * (1 + ((stmro - 13) / 6) ** 8) ** (1 / 8)
           - 28 * (1 + ((stmro + 1) / 19.4) ** 35) ** (1 / 35)
           - 13 * (1 + ((stmro - 3) / 33) ** 13) ** (1 / 13) + 29)
    q = 37 - 15 * math.log10(p["qdu"])
    g = 1.07 + 0.258 * q + 0.0602 * q ** 2
    iq = 15 * math.log10(1 + 10 ** ((ro - 100) / 15 + 46 / 8.4 - g / 9) + 10 ** (46 / 30 - g / 40))
    # 7.4 delay impairment factor
    terv = p["TELR"] - 40 * math.log10((1 + t / 10) / (1 + t / 150)) + 6 * math.exp(-0.3 * t ** 2)
    if stmr < 9:
        terv += ist / 2
    roe, re = -1.5 * (no - rlr), 80 + 2.5 * (terv - 14)
    idte = ((roe - re) / 2 + math.sqrt((roe - re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-t))
    if stmr > 20:
        idte, ist = math.sqrt(idte ** 2 + ist ** 2), 0.0
    rle = 10.5 * (p["WEPL"] + 7) * (p["Tr"] + 1) ** -0.25
    idle = (ro - rle) / 2 + math.sqrt((ro - rle) ** 2 / 4 + 169)
    idd = 0.0
    if p["Ta"] > p["mT"]:
        x, s = math.log10(p["Ta"] / p["mT"]) / math.log10(2), 6 * p["sT"]
        idd = 25 * ((1 + x ** s) ** (1 / s) - 3 * (1 + (x / 3) ** s) ** (1 / s) + 2)
    # 7.5 equipment impairment factor under packet loss
    ie, ppl = p["Ie"], p["Ppl"]
    ie_eff = ie + (95 - ie) * ppl / (ppl / p["BurstR"] + p["Bpl"])
    return ro - (iolr + ist + iq) - (idte + idle + idd) - ie_eff + p["A"]


def mos(r):
    """The estimated MOS (conversational quality) of rating R (G.107 Annex B)."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return max(1.0, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6)


def rate(ie, bpl, loss_percent, burst_ratio, delay_ms):
    """{r, mos, r_listening, mos_listening} of a direction: codec IE and BPL (BPL None:
    not published, so only a loss-free direction is computable), packet loss LOSS_PERCENT
    with BURST_RATIO, mouth-to-ear DELAY_MS. None when not computable."""
    if ie is None or (bpl is None and loss_percent > 0):
        return None
    loss = {"Ie": ie, "Bpl": bpl if bpl is not None else 1.0, "Ppl": loss_percent,
            "BurstR": max(1.0, burst_ratio)}
    r = rating(T=delay_ms, Tr=2 * delay_ms, Ta=delay_ms, **loss)
    listening = rating(**loss)
    return {"r": r, "mos": mos(r), "r_listening": listening, "mos_listening": mos(listening)}
