"""Commit of 10,000 extensions through the whole pipeline (validation, render of UCI,
Kamailio and Asterisk files, atomic install), then a one-extension change.

    PYTHONPATH=. python benchmarks/commit_extensions.py [--count N] [--runs R]

Prints the median seconds of each over R fresh data directories (target: < 5 s).
"""

import argparse
import os
import statistics
import tempfile
import time

from besip_cli.datastore.session import Session


def candidate(count):
    extensions = {str(100000 + i): {"number": str(100000 + i), "secret": "Secret-%06d" % i,
                                    "display-name": "User %d" % i} for i in range(count)}
    return {"pbx": {"mode": "proxy-pbx", "extension": extensions,
                    "trunk": {"t1": {"name": "t1", "host": "192.0.2.1", "register": "false"}},
                    "route": {"out": {"name": "out", "pattern": "0X.", "trunk": "t1", "strip": "1"}}}}


def run(count):
    with tempfile.TemporaryDirectory() as directory:
        session = Session(directory, user="bench", client="bench")
        tree = candidate(count)
        session.replace_candidate(tree)
        start = time.perf_counter()
        session.commit("bulk")
        bulk = time.perf_counter() - start
        with open(os.path.join(directory, "root/etc/asterisk/extensions.conf")) as f:
            assert "exten => %d,1," % (100000 + count - 1) in f.read(), "extensions not rendered"
        session.edit(lambda t: t["pbx"]["extension"]["100000"].update({"display-name": "Changed"}))
        start = time.perf_counter()
        session.commit("one")
        one = time.perf_counter() - start
        session.close()
    return bulk, one


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [run(args.count) for _ in range(args.runs)]
    print("commit of %d extensions (validate + render + install): median %.2f s"
          % (args.count, statistics.median(r[0] for r in results)))
    print("commit changing one of them:                          median %.2f s"
          % statistics.median(r[1] for r in results))


if __name__ == "__main__":
    main()
