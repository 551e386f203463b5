"""Ctrl-C while a command may be committing: noted and reported, never raised half-way
through a commit (which would leave generated files and reloads half-done)."""

import signal
import threading


class Shield:
    """While active, SIGINT calls ON_PRESS once and sets `pressed` instead of raising
    KeyboardInterrupt. Only the main thread receives signals: elsewhere it does nothing."""

    def __init__(self, on_press):
        self.on_press = on_press
        self.pressed = False
        self._old = None

    def __enter__(self):
        self.pressed = False
        if threading.current_thread() is threading.main_thread():
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
