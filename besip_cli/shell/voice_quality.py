"""`show voice-quality calls [last N] [mos-below X]`, `show voice-quality call ID` and
`monitor analyze FILE`: rated calls as a table (one line per direction), or with
`| display json` as data for scripts."""

import time

from ..daemon.control import ControlError, request
from ..monitoring import analysis, pcap, storage
from ..services.settings import Settings
from ..visible import visible

SHOW = {"calls": "Rated calls, one line per direction",
        "call": "One rated call in detail: every stream, RTCP and the rating's inputs",
        "status": "The live monitor: calls and streams followed now, packets ignored"}
FILTERS = {"last": "Only the newest N calls", "mos-below": "Only calls with a direction rated below X"}
SHOWN = 20
MAX_SHOWN = 100000
HEADER = "%-8s  %-10s  %-10s  %-3s  %-7s  %6s  %5s  %5s  %7s  %6s  %5s  %4s" % (
    "TIME", "CALLER", "CALLEE", "DIR", "CODEC", "PKTS", "LOSS%", "BURST", "JITTER", "DELAY", "R", "MOS")


class Unavailable(Exception):
    """Input the monitor cannot read (the message says why)."""


def show(tk, directory):
    """(lines, data) of `show voice-quality calls|call|status ...`."""
    what = tk.keyword(SHOW)
    if what == "status":
        tk.end()
        try:
            status = request(Settings(directory), "voice-quality.status")
        except ControlError as exc:
            raise Unavailable("Voice-quality monitor unavailable: %s" % exc)
        return ["%-10s %s" % (k, v) for k, v in sorted(status.items())], status
    if what == "call":
        row_id = int(tk.value("<id>", "The call's number (ID of show voice-quality calls ... | display json)",
                              check=_positive))
        tk.end()
        call = _storage(directory, lambda s: s.call(row_id), None)
        if call is None:
            raise Unavailable("No call %d in the voice-quality history." % row_id)
        return detail(call), call
    last, below = SHOWN, None
    while True:
        word = tk.keyword(FILTERS, optional=True, cr=True)
        if word is None:
            break
        if word == "last":
            last = int(tk.value("<1-%d>" % MAX_SHOWN, "How many calls", check=_positive))
        else:
            below = float(tk.value("<1.00-4.50>", "MOS", check=_mos))
    tk.end()
    calls = _storage(directory, lambda s: s.calls(last, below), [])
    return table(calls), calls


def analyze(tk, options):
    """(lines, data) of `monitor analyze FILE`."""
    tk.keyword({"analyze": "Rate the calls of a capture file (pcap or pcapng)"})
    path = tk.value("<file>", "A pcap or pcapng capture file")
    tk.end()
    try:
        calls = analysis.analyze(path, options)
    except pcap.CaptureError as exc:
        raise Unavailable("%s." % exc)
    return table(calls), calls


def _storage(directory, ask, empty):
    """ASK(the history), or EMPTY before the monitor stored anything."""
    if not storage.exists(directory):
        return empty
    db = storage.Storage(directory)
    try:
        return ask(db)
    finally:
        db.close()


def table(calls):
    lines = [HEADER]
    for call in calls:
        for d in call["directions"]:
            lines.append("%-8s  %-10s  %-10s  %-3s  %-7s  %6d  %5.1f  %5.2f  %5.1fms  %4.0fms  %5s  %4s" % (
                time.strftime("%H:%M:%S", time.localtime(call["start"])), visible(call["caller"])[:10],
                visible(call["callee"])[:10], d["direction"], visible(d["codec"])[:7], d["received"],
                d["loss"], d["burst_ratio"], d["jitter"], d["delay"],
                "%.1f" % d["r"] if d["rated"] else "-", "%.2f" % d["mos"] if d["rated"] else "n/c"))
    if any(not d["rated"] for c in calls for d in c["directions"]):
        lines.append("n/c: not computable (no ITU-T G.113 values for the codec, or loss without a Bpl)")
    return lines


def detail(call):
    """The lines of one call in detail."""
    lines = ["Call %s: %s -> %s, Call-ID %s" % (call.get("id", "-"), visible(call["caller"]),
                                                 visible(call["callee"]), visible(call["call_id"] or "-")),
             "  began %s, ended %s" % (_when(call["start"]), _when(call["end"]))]
    for d in call["directions"]:
        lines += [
            "  %s %s  %s -> %s  codec %s" % (d["direction"], "to callee" if d["direction"] == "->" else "to caller",
                                            d["source"], d["destination"], visible(d["codec"])),
            "    packets %d received, %d expected, %d lost (%.2f%%), %d duplicate, %d reordered, "
            "%d discarded by the jitter buffer" % (d["received"], d["expected"], d["lost"], d["loss"],
                                                   d["duplicates"], d["reordered"], d["discarded"]),
            "    loss bursts %d, burst ratio %.2f, SSRC changes %d" % (d["bursts"], d["burst_ratio"], d["ssrc_changes"]),
            "    jitter %.2f ms (maximum %.2f ms)" % (d["jitter"], d["max_jitter"]),
            "    delay %.1f ms mouth to ear (network %.1f ms, %s)" % (
                d["delay"], d["network_delay"], "RTCP round trip" if d["delay_measured"] else "assumed"),
            "    R %s, MOS %s (listening: R %s, MOS %s)" % tuple(
                ("%.2f" % d[k] if d[k] is not None else "not computable")
                for k in ("r", "mos", "r_listening", "mos_listening"))]
        if d.get("xr"):
            lines.append("    the phone reports (RTCP XR): " + ", ".join(
                "%s %s" % (k, v) for k, v in sorted(d["xr"].items()) if v is not None))
    return lines


def _when(stamp):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _positive(text):
    if not text.isdigit() or not 1 <= int(text) <= MAX_SHOWN:
        raise ValueError("a number from 1 to %d is expected" % MAX_SHOWN)
    return text


def _mos(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= 4.5:
        raise ValueError("a MOS from 1.00 to 4.50 is expected")
    return text
