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

WINDOW = 512                    # a power of 2
MASK = WINDOW - 1
CN_TYPES = (13, 19)


class Stream:
    __slots__ = ("key", "pt", "clock", "packet_ms", "first_time", "last_time", "first_ext",
                 "max_ext", "received", "duplicates", "reordered", "window", "missing",
                 "bursts", "prev_lost", "last_ts", "ref_time", "jitter", "max_jitter",
                 "mean_jitter", "buffer", "buffer_max", "anchor", "discards", "delay_sum",
                 "tick_ms")

    def __init__(self, key, pt, clock, packet_ms=20, buffer=("fixed", 60)):
        self.key, self.pt, self.clock, self.packet_ms = key, pt, clock, packet_ms
        self.tick_ms = 1000.0 / clock if clock else 0.0
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
        top = self.max_ext
        delta = (seq - top) & 0xFFFF
        if delta == 1:                          # the usual case, kept short
            ext = self.max_ext = top + 1
            if ext - WINDOW >= self.first_ext:
                if self.window[ext & MASK] != 1:
                    self.missing += 1
                    self.bursts += not self.prev_lost
                    self.prev_lost = True
                else:
                    self.prev_lost = False
            fresh = True
        elif delta == 0:
            self.duplicates += 1
            fresh = False
        elif delta < 0x8000:
            ext = top + delta
            self._slide(ext)
            fresh = True
        else:
            ext = top - (0x10000 - delta)
            self.reordered += 1
            fresh = ext > top - WINDOW and ext >= self.first_ext
            if fresh and self.window[ext & MASK]:
                self.duplicates += 1
                fresh = False
        step = (ts - self.last_ts) & 0xFFFFFFFF
        if step & 0x80000000:
            step -= 0x100000000
        last_ts = self.last_ts = self.last_ts + step
        tick = self.tick_ms
        if tick:
            d = t - self.ref_time - step * tick
            jitter = self.jitter = self.jitter + ((d if d > 0 else -d) - self.jitter) / 16
            if not marker and pt not in CN_TYPES and self.pt not in CN_TYPES:
                if jitter > self.max_jitter:
                    self.max_jitter = jitter
                n = self.received - 1
                self.mean_jitter = (self.mean_jitter * (n - 1) + jitter) / n
            if fresh:                           # the jitter buffer: played or discarded
                if self.buffer == "fixed":
                    delay = self.buffer_max
                else:
                    delay = 4 * jitter if 4 * jitter > self.packet_ms else self.packet_ms
                    if delay > self.buffer_max:
                        delay = self.buffer_max
                self.delay_sum += delay
                if t - last_ts * tick - self.anchor > delay:
                    self.discards += 1
                    self.window[ext & MASK] = 2
                else:
                    self.window[ext & MASK] = 1
        elif fresh:
            self.window[ext & MASK] = 1
        self.pt, self.ref_time = pt, t

    def _first(self, t, seq, ts, marker, pt):
        self.first_time = self.last_time = self.ref_time = t
        self.first_ext = self.max_ext = seq
        self.last_ts = ts
        self.pt = pt
        self.anchor = t - ts * self.tick_ms
        if self.clock:
            self.delay_sum += self.buffer_max if self.buffer == "fixed" else min(self.buffer_max, self.packet_ms)
        self.window[seq & MASK] = 1

    def _slide(self, ext):
        """Move the window's top to EXT, rating the sequence numbers that leave it."""
        top, window = self.max_ext, self.window
        self.max_ext = ext
        leaving = ext - WINDOW
        for s in range(max(top - WINDOW + 1, self.first_ext), min(leaving, top) + 1):
            self._rate(window[s & MASK] != 1)
        if leaving > top:                       # never seen, and out of the window already
            self.missing += leaving - top
            self.bursts += not self.prev_lost
            self.prev_lost = True
        for s in range(max(top + 1, ext - WINDOW + 1), ext + 1):
            window[s & MASK] = 0

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
            lost = self.window[s & MASK] != 1
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
