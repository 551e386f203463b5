"""RFC 6242 message framing: base:1.0 end-of-message `]]>]]>` and base:1.1 chunks."""

import re
import select

EOM = b"]]>]]>"
MAX_MESSAGE = 16 * 1024 * 1024        # bytes; a larger message closes the session
CHUNK = 16384                         # bytes per chunk we send (clients parse chunk by chunk)
_CHUNK_HEADER = re.compile(rb"\n#([1-9][0-9]{0,9})\n")


class FramingError(Exception):
    """The peer broke the framing; the session cannot continue."""


class Framer:
    """Reads whole messages from a binary file object and writes framed ones."""

    def __init__(self, infile, outfile, max_message=MAX_MESSAGE, message_timeout=None):
        self.infile = infile
        self.outfile = outfile
        self.max_message = max_message
        self.chunked = False          # switched on after a base:1.1 hello exchange
        self.idle_timeout = None      # seconds of silence allowed between messages
        self.message_timeout = message_timeout   # ... and inside a message
        self._buffer = bytearray()

    def _fill(self):
        timeout = self.message_timeout if self._buffer else self.idle_timeout
        if timeout is not None and hasattr(self.infile, "fileno"):
            ready, _, _ = select.select([self.infile], [], [], timeout)
            if not ready:
                raise TimeoutError("no data from the client for %.0f s" % timeout)
        read = getattr(self.infile, "read1", None) or self.infile.read
        data = read(65536)
        if not data:
            raise EOFError
        self._buffer += data

    def _take(self, count):
        while len(self._buffer) < count:
            self._fill()
        data = bytes(memoryview(self._buffer)[:count])
        self._buffer = self._buffer[count:]      # a copy: a big buffer's memory is freed
        return data

    def read(self):
        """The next message as bytes; EOFError at end of input, FramingError if broken."""
        return self._read_chunked() if self.chunked else self._read_eom()

    def _read_eom(self):
        start = 0
        while True:
            end = self._buffer.find(EOM, start)
            if end >= 0:
                message = bytes(memoryview(self._buffer)[:end])
                self._buffer = self._buffer[end + len(EOM):]
                return message
            if len(self._buffer) > self.max_message:
                raise FramingError("message larger than %d bytes" % self.max_message)
            start = max(0, len(self._buffer) - len(EOM) + 1)
            self._fill()

    def _read_chunked(self):
        parts = []
        size = 0
        while True:
            while len(self._buffer) < 4:
                self._fill()
            if self._buffer.startswith(b"\n##\n"):
                del self._buffer[:4]
                if not parts:
                    raise FramingError("end-of-chunks without a chunk")
                return b"".join(parts)
            while b"\n" not in self._buffer[1:14]:
                if len(self._buffer) >= 14:
                    raise FramingError("bad chunk header")
                self._fill()
            match = _CHUNK_HEADER.match(self._buffer)
            if not match:
                raise FramingError("bad chunk header")
            length = int(match.group(1))
            size += length
            if size > self.max_message:
                raise FramingError("message larger than %d bytes" % self.max_message)
            del self._buffer[:match.end()]
            parts.append(self._take(length))

    def write(self, message):
        """Send one message (bytes) in the current framing."""
        if self.chunked:
            data = b"".join(b"\n#%d\n%s" % (len(message[i:i + CHUNK]), message[i:i + CHUNK])
                            for i in range(0, len(message), CHUNK)) + b"\n##\n"
        else:
            data = message + EOM
        self.outfile.write(data)
        self.outfile.flush()
