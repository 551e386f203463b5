"""Interactive shell performance: start-up to the first prompt, completion latency with
10,000 extensions (in-process, as the shell calls the completer, and end to end through a
pseudo-terminal), and the resident memory of an idle shell.

    python benchmarks/shell.py [--rounds N]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import pexpect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
EXTENSIONS = 10000
PROMPT = rb"[\w.-]+(\([\w-]+\))?#"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def report(name, seconds):
    ms = [s * 1000 for s in seconds]
    print("  %-52s median %7.2f ms   p95 %7.2f ms   (n=%d)"
          % (name, statistics.median(ms), percentile(ms, 0.95), len(ms)))


def make_datastores(base, env):
    """A fresh data directory, and one with EXTENSIONS extensions (and a route to one)."""
    from besip_cli.datastore.session import Session
    small, big = os.path.join(base, "default"), os.path.join(base, "big")
    Session(small).close()
    session = Session(big)
    numbers = [str(n) for n in range(10000, 10000 + EXTENSIONS)]
    session.replace_candidate({
        "system": {"hostname": "bench"},
        "pbx": {"extension": {n: {"number": n, "secret": "Secret-" + n} for n in numbers},
                "route": {"r1": {"name": "r1", "pattern": "1XXXX", "extension": numbers[0]}}}})
    session.commit("benchmark")
    session.close()
    return small, big


def spawn(directory, env):
    child = pexpect.spawn(sys.executable, ["-m", "besip_cli", "--datastore", directory],
                          env=env, dimensions=(200, 200), timeout=30)
    child.delaybeforesend = None           # pexpect sleeps 50 ms before each send by default
    return child


def startup(directory, env, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        child = spawn(directory, env)
        child.expect(PROMPT)
        times.append(time.perf_counter() - start)
        child.terminate(force=True)
    return times


def rss_kib(directory, env):
    child = spawn(directory, env)
    child.expect(PROMPT)
    time.sleep(0.5)
    with open("/proc/%d/status" % child.pid) as handle:
        kib = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    child.terminate(force=True)
    return kib


def completer_in_process(directory, rounds):
    """The completer, `?` help and the error highlighter as the shell calls them."""
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from besip_cli.datastore.session import Session
    from besip_cli.shell.complete import ErrorLexer, ShellCompleter, help_lines
    from besip_cli.shell.config import Context
    from besip_cli.shell.interp import Interpreter
    session = Session(directory)
    interp = Interpreter(session, sys.stdout)
    interp.mode = Context()
    completer, lexer = ShellCompleter(interp), ErrorLexer(interp)
    event = CompleteEvent(completion_requested=True)
    cases = {
        "Tab  'pbx ext'": lambda: list(completer.get_completions(Document("pbx ext"), event)),
        "Tab  'pbx extension 1234' (10,000 keys, 11 match)":
            lambda: list(completer.get_completions(Document("pbx extension 1234"), event)),
        "Tab  'pbx extension 12345 co'":
            lambda: list(completer.get_completions(Document("pbx extension 12345 co"), event)),
        "Tab  'pbx route r1 extension 1999' (leafref)":
            lambda: list(completer.get_completions(Document("pbx route r1 extension 1999"), event)),
        "?    'pbx extension ' (10,000 keys listed)":
            lambda: help_lines(interp, "pbx extension "),
        "?    'pbx extension 12345 '": lambda: help_lines(interp, "pbx extension 12345 "),
        "key  highlight 'pbx extension 12345 secret Abc-12345'":
            lambda: lexer.lex_document(Document("pbx extension 12345 secret Abc-1234%d" % time.time_ns())),
    }
    for name, call in cases.items():
        call()
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        report(name, times)
    session.close()


def drain(child):
    """Read what the shell printed until it is quiet (no stale output for the next match)."""
    while True:
        try:
            child.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            return


def completion_through_pty(directory, env, rounds):
    """Keys sent to a real `besip` on a pty until the screen shows the answer."""
    child = spawn(directory, env)
    child.expect(PROMPT)
    child.send("configure\r")
    child.expect(rb"\(config\)#")
    cases = (("Tab  'pbx extension 12345 rec' -> recording", "pbx extension 12345 rec", "\t", rb"ording"),
             ("Tab  'pbx extension 1999' -> 10 choices listed", "pbx extension 1999", "\t", rb"19999"),
             ("?    'pbx extension 12345 '", "pbx extension 12345 ", "?", rb"voicemail +Voicemail"))
    for name, text, key, answer in cases:
        times = []
        for _ in range(rounds):
            child.send(text)
            child.expect_exact(text.strip()[-4:].encode())
            drain(child)
            start = time.perf_counter()
            child.send(key)
            child.expect(answer)
            times.append(time.perf_counter() - start)
            child.send("\x03")                 # Ctrl-C: a fresh line
            drain(child)
        report(name, times)
    child.terminate(force=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base:
        env = dict(os.environ, PYTHONPATH=ROOT, TERM="xterm", XDG_CACHE_HOME=os.path.join(base, "cache"))
        os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]
        print("Preparing a datastore with %d extensions..." % EXTENSIONS)
        small, big = make_datastores(base, env)
        print("Start-up: `besip` started on a pty until the first prompt (target < 200 ms with 10,000 extensions)")
        report("default configuration", startup(small, env, args.rounds))
        report("%d extensions" % EXTENSIONS, startup(big, env, args.rounds))
        print("Completion with %d extensions, in-process (target p95 < 30 ms)" % EXTENSIONS)
        completer_in_process(big, args.rounds)
        print("Completion with %d extensions, end to end through a pty (target p95 < 30 ms)" % EXTENSIONS)
        completion_through_pty(big, env, args.rounds)
        print("Resident memory of an idle shell at its prompt")
        default_rss, big_rss = rss_kib(small, env), rss_kib(big, env)
        print("  %-52s %7.1f MiB" % ("default configuration", default_rss / 1024))
        print("  %-52s %7.1f MiB   (ratio %.2f)" % ("%d extensions" % EXTENSIONS, big_rss / 1024,
                                                    big_rss / default_rss))


if __name__ == "__main__":
    main()
