"""A real pseudo-terminal around a program, read through a terminal emulator (pyte), so
tests assert what a user sees on the screen, not the escape codes that drew it."""

import re
import time

import pexpect
import pyte

PROMPT = re.compile(r"[\w.-]+(\([\w-]+\))?#")


class Terminal:
    def __init__(self, argv, env, rows=100, columns=120):
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(rows, columns))
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.closed = False

    def _pump(self, timeout):
        try:
            self.stream.feed(self.child.read_nonblocking(65536, timeout))
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            self.closed = True
            time.sleep(timeout)

    def lines(self):
        return [line.rstrip() for line in self.screen.display]

    def cursor_line(self):
        return self.lines()[self.screen.cursor.y]

    def text(self):
        return "\n".join(self.lines()[:self.screen.cursor.y + 1])

    def wait(self, check, what, timeout=15):
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError("waited for %s; the screen shows:\n%s" % (what, self.text()))
            self._pump(0.05)

    def wait_text(self, pattern, timeout=15):
        self.wait(lambda: re.search(pattern, self.text(), re.M), repr(pattern), timeout)

    def wait_cursor_line(self, pattern, timeout=15):
        self.wait(lambda: re.fullmatch(pattern, self.cursor_line()), "cursor line %r" % pattern, timeout)

    def wait_prompt(self, timeout=15):
        """The bare prompt (nothing typed yet) on the cursor line; returns it."""
        self.wait(lambda: PROMPT.fullmatch(self.cursor_line()), "a prompt", timeout)
        return self.cursor_line()

    def send(self, data):
        self.child.send(data)

    def wait_pasted(self, last, timeout=30):
        """A paste ending with LAST has run: its echo shows, then a bare prompt."""
        self.wait(lambda: last in self.text() and PROMPT.fullmatch(self.cursor_line()),
                  "the pasted lines to run", timeout)

    def type(self, text):
        """Type TEXT and wait until the line shows it."""
        self.send(text)
        self.wait(lambda: self.cursor_line().endswith(text.rstrip()[-40:]), "echo of %r" % text)

    def command(self, line, timeout=15):
        """Run LINE at the prompt; the lines it printed."""
        self.wait_prompt()
        self.type(line)
        self.send("\r")
        self.wait_prompt(timeout)
        rows = self.lines()[:self.screen.cursor.y]
        echoed = ("# " + line).rstrip()
        starts = [i for i, row in enumerate(rows) if row.endswith(echoed) or
                  len(line) > 40 and row.endswith(echoed[-40:])]
        assert starts, "%r not on the screen:\n%s" % (line, self.text())
        return rows[starts[-1] + 1:]

    def wait_exit(self, timeout=15):
        self.wait(lambda: self.closed, "the program to end", timeout)
        self.child.close()
        return self.child.exitstatus

    def close(self):
        if self.child.isalive():
            self.child.terminate(force=True)


class StreamTerminal(Terminal):
    """The same screen over a socket (the other end of a shell run on byte streams)."""

    def __init__(self, sock, rows=100, columns=120):
        self.sock = sock
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.closed = False
        sock.settimeout(0.05)

    def _pump(self, timeout):
        try:
            data = self.sock.recv(65536)
        except OSError:                    # socket.timeout included
            return
        if not data:
            self.closed = True
            time.sleep(timeout)
        self.stream.feed(data)

    def send(self, data):
        self.sock.sendall(data.encode())

    def close(self):
        self.sock.close()
