"""A plain line-by-line shell on a terminal (the full-screen editor is a later step)."""

import sys

from .interp import CliError, Interpreter, Leave


def interactive(session):
    interp = Interpreter(session, sys.stdout)
    while True:
        prompt = interp.prompt()
        try:
            line = input(prompt)
        except EOFError:
            sys.stdout.write("\n")
            return 0
        except KeyboardInterrupt:
            sys.stdout.write("\n")
            continue
        try:
            interp.execute(line)
        except Leave:
            return 0
        except CliError as exc:
            if exc.pos is not None:
                sys.stdout.write(" " * (len(prompt) + exc.pos) + "^\n")
            sys.stdout.write(exc.message + "\n")
            for detail in exc.details:
                sys.stdout.write(detail + "\n")
