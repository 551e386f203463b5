"""Per-stream RTP statistics (one source address/port, destination address/port and
SSRC), in constant memory whatever the stream's length:

- sequence numbers extended over wraps (RFC 3550 A.1); expected = highest - first + 1,
  lost = expected - received (RFC 3550 6.4.1: duplicates make it smaller), duplicates and
  reordered (late) packets told apart within a window of WINDOW sequence numbers;
- the loss pattern of the window's packets as they leave it: packets never received plus
  those the jitter buffer discarded, their bursts, and the burst ratio of ITU-T G.107
  (mean observed burst length over the mean expected of random loss, 1 / (1 - Ppl));
- RFC 3550 interarrival jitter (A.8, packets in order of arrival) in ms, final, maximum and
  running mean the way Wireshark's (4.0) RTP analysis keeps them, so the numbers compare
  with tshark's: the maximum and mean skip packets with the marker bit and comfort noise;
- a jitter buffer model: `fixed` N ms, or `adaptive` up to N ms (the delay follows four
  times the current jitter, at least one packet); a packet later than the first packet's
  transit plus the buffer's delay is discarded.
"""

WINDOW = 512
CN_TYPES = (13, 19)


class Stream:
    __slots__ = ("key", "pt", "clock", "packet_ms", "first_time", "last_time", "first_ext",
                 "max_ext", "received", "duplicates", "reordered", "window", "evaluated",
                 "missing", "bursts", "prev_lost", "last_ts", "ref_time", "jitter",
                 "max_jitter", "mean_jitter", "buffer", "buffer_max", "anchor", "discards",
                 "delay_sum", "marker")

    def __init__(self, key, pt, clock, packet_ms=20, buffer=("fixed", 60)):
        self.key, self.pt, self.clock, self.packet_ms = key, pt, clock, packet_ms
        self.buffer, self.buffer_max = buffer
        self.received = self.duplicates = self.reordered = self.discards = 0
        self.missing = self.bursts = 0
        self.prev_lost = False
        self.jitter = self.max_jitter = self.mean_jitter = 0.0
        self.delay_sum = 0.0
        self.window = bytearray(WINDOW)
        self.first_ext = None

    def add(self, t, seq, ts, marker, pt):
        """One packet arriving at T (ms): sequence number SEQ, time stamp TS."""
        self.received += 1
        if self.first_ext is None:
            self._first(t, seq, ts, marker, pt)
            return
        self.last_time = t
        delta = (seq - self.max_ext) & 0xFFFF
        if delta == 0:
            self.duplicates += 1
            fresh = False
        elif delta < 0x8000:
            ext = self.max_ext + delta
            self._slide(ext)
            fresh = True
        else:
            ext = self.max_ext - (0x10000 - delta)
            self.reordered += 1
            fresh = ext > self.max_ext - WINDOW and ext >= self.first_ext
            if fresh and self.window[ext % WINDOW]:
                self.duplicates += 1
                fresh = False
        step = (ts - self.last_ts) & 0xFFFFFFFF
        step = step - 0x100000000 if step & 0x80000000 else step
        self.last_ts += step
        clock = self.clock
        if clock:
            d = t - self.ref_time - step * 1000.0 / clock
            self.jitter += ((d if d > 0 else -d) - self.jitter) / 16
            if not marker and pt not in CN_TYPES and self.pt not in CN_TYPES:
                if self.jitter > self.max_jitter:
                    self.max_jitter = self.jitter
                n = self.received - 1
                self.mean_jitter = (self.mean_jitter * (n - 1) + self.jitter) / n
        self.pt, self.ref_time = pt, t
        if fresh:
            self.window[ext % WINDOW] = 1 + self._late(t, self.last_ts)

    def _first(self, t, seq, ts, marker, pt):
        self.first_time = self.last_time = self.ref_time = t
        self.first_ext = self.max_ext = seq
        self.last_ts = ts
        self.pt = pt
        self.anchor = t - ts * 1000.0 / self.clock if self.clock else 0.0
        self._late(t, ts)
        self.window[seq % WINDOW] = 1

    def _late(self, t, ext_ts):
        """1 if the jitter buffer discards a packet of time stamp EXT_TS arriving at T."""
        if not self.clock:
            return 0
        if self.buffer == "fixed":
            delay = self.buffer_max
        else:
            delay = min(self.buffer_max, max(self.packet_ms, 4 * self.jitter))
        self.delay_sum += delay
        if t - ext_ts * 1000.0 / self.clock - self.anchor > delay:
            self.discards += 1
            return 1
        return 0

    def _slide(self, ext):
        """Move the window's top to EXT, rating the sequence numbers that leave it."""
        top, window = self.max_ext, self.window
        self.max_ext = ext
        if ext == top + 1:                      # the usual case, kept short
            if ext - WINDOW >= self.first_ext:
                self._rate(window[ext % WINDOW] != 1)
            return
        leaving = ext - WINDOW
        for s in range(max(top - WINDOW + 1, self.first_ext), min(leaving, top) + 1):
            self._rate(window[s % WINDOW] != 1)
        if leaving > top:                       # never seen, and out of the window already
            self.missing += leaving - top
            self.bursts += not self.prev_lost
            self.prev_lost = True
        for s in range(max(top + 1, ext - WINDOW + 1), ext + 1):
            window[s % WINDOW] = 0

    def _rate(self, lost):
        """One more sequence number of the loss pattern: LOST (or discarded) or played."""
        if lost:
            self.missing += 1
            self.bursts += not self.prev_lost
        self.prev_lost = lost

    def summary(self):
        """The stream's numbers, the window's last packets rated too (the stream is over)."""
        missing, bursts, prev = self.missing, self.bursts, self.prev_lost
        for s in range(max(self.first_ext, self.max_ext - WINDOW + 1), self.max_ext + 1):
            lost = self.window[s % WINDOW] != 1
            if lost:
                missing += 1
                bursts += not prev
            prev = lost
        expected = self.max_ext - self.first_ext + 1
        ppl = missing / expected
        return {
            "ssrc": self.key[4], "payload_type": self.pt, "start": self.first_time / 1000.0,
            "end": self.last_time / 1000.0, "received": self.received, "expected": expected,
            "lost": expected - self.received, "duplicates": self.duplicates,
            "reordered": self.reordered, "discarded": self.discards,
            "impaired": missing, "bursts": bursts,
            "burst_ratio": missing / bursts * (1 - ppl) if bursts and ppl < 1 else 1.0,
            "jitter": self.jitter, "max_jitter": self.max_jitter, "mean_jitter": self.mean_jitter,
            "buffer_delay": self.delay_sum / self.received if self.received else 0.0,
            "clock": self.clock,
        }
