"""Where Ctrl-C (SIGINT, while the terminal is not in the line editor's raw mode) may
interrupt: a running command, yes; a commit, never half-way (generated files and reloads
would be left half-done); the shell's own work between two lines, never (it would end
the shell)."""

import contextlib
import signal
import threading


def _main_thread():
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def interruptible():
    """Ctrl-C raises KeyboardInterrupt (Python's default) inside this block."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler) if _main_thread() else None
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


class Shield:
    """While active, SIGINT calls ON_PRESS once and sets `pressed` instead of raising
    KeyboardInterrupt. Only the main thread receives signals: elsewhere it does nothing."""

    def __init__(self, on_press):
        self.on_press = on_press
        self.pressed = False
        self._old = None

    def __enter__(self):
        self.pressed = False
        if _main_thread():
            self._old = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, _signum, _frame):
        if not self.pressed:
            self.pressed = True
            self.on_press()

    def __exit__(self, *_exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None
