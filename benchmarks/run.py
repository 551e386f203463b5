#!/usr/bin/env python3
"""BESIP performance benchmarks: one command, one table.

    python benchmarks/run.py [--quick] [--extensions N] [--json FILE]

Every benchmark runs in its own temporary datastore directory. The product's processes
get a private XDG_CACHE_HOME whose schema cache is warmed once (only the "cold start" row
uses empty caches) and a private PYTHONPYCACHEPREFIX (bytecode cache, warmed once too, so
that start-up is measured as an installed package would see it even when the caller has
PYTHONDONTWRITEBYTECODE set). Nothing is written outside the temporary directory.

Wall times are measured around the child process (fork to reap); peak RSS is the child's
own ru_maxrss as reported by wait4(2) (the number /usr/bin/time -v prints). In-process
numbers come from a worker process (this file run with --worker), so that the harness's
own memory and imports do not disturb them.

See benchmarks/README.md for what each row measures.
"""

import argparse
import glob
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YANG_DIR = os.path.join(ROOT, "yang")
HERE = os.path.abspath(__file__)

# The targets (ms / MB); None: no target was set.
T_SHOW_EMPTY = 300
T_SHOW_10K = 1500
T_SCRIPT_10K = 3000
T_SCRIPT_RSS = 80
T_ONE_CHANGE = 50
T_CLI_CHANGE = 250


# ====================================================================== worker side
# `run.py --worker KIND ...` runs inside a fresh interpreter and prints one JSON object.

def _tree_with(n):
    """A change function adding N extensions (display-name and secret each)."""
    def add(tree):
        ext = tree.setdefault("pbx", {}).setdefault("extension", {})
        for i in range(n):
            number = str(10000 + i)
            ext[number] = {"number": number, "display-name": "User %d" % i,
                           "secret": "Xk9-strong-%d" % i}
    return add


def _ms(seconds):
    return round(seconds * 1000.0, 3)


def worker_build(args):
    """Fill the datastore in ARGS.dir with N extensions through the API."""
    from besip_cli.datastore.session import Session
    t0 = time.perf_counter()
    s = Session(args.dir, user="bench", client="bench")
    t1 = time.perf_counter()
    s.edit(_tree_with(args.n))
    t2 = time.perf_counter()
    commit_id = s.commit(comment="benchmark setup: %d extensions" % args.n)
    t3 = time.perf_counter()
    count = len(s.running.get("pbx", {}).get("extension", {}))
    s.close()
    return {"open_ms": _ms(t1 - t0), "edit_ms": _ms(t2 - t1), "commit_ms": _ms(t3 - t2),
            "total_ms": _ms(t3 - t0), "commit_id": commit_id, "count": count}


def worker_count(args):
    """How many extensions running holds (to check a script really committed)."""
    from besip_cli.datastore.session import Session
    s = Session(args.dir, user="bench", client="bench")
    count = len(s.running.get("pbx", {}).get("extension", {}))
    s.close()
    return {"count": count}


def worker_api_change(args):
    """Row 3a: one display-name changed with Session.edit, then Session.commit; the time
    of the service pipeline (rendering and installing the programs' files) is kept apart.
    --private: edits a private candidate (the shell's and scripts' `configure`), else the
    shared one (NETCONF's)."""
    from besip_cli import services
    from besip_cli.datastore.session import Session
    pipeline = []
    apply_commit = services.apply_commit

    def timed_apply(*a, **kw):
        t = time.perf_counter()
        try:
            return apply_commit(*a, **kw)
        finally:
            pipeline.append(_ms(time.perf_counter() - t))
    services.apply_commit = timed_apply
    s = Session(args.dir, user="bench", client="bench")
    keys = sorted(s.running["pbx"]["extension"])
    if len(keys) != args.n:
        raise SystemExit("datastore holds %d extensions, expected %d" % (len(keys), args.n))
    target = keys[len(keys) // 2]
    if args.private:
        s.configure()

    def change(value):
        def apply(tree):
            tree["pbx"]["extension"][target]["display-name"] = value
        return apply

    s.edit(change("warm-up"))                 # the first commit also loads libyang
    s.commit(comment="warm-up")
    del pipeline[:]
    edit, commit, total = [], [], []
    deadline = time.perf_counter() + args.budget
    for rep in range(args.reps):
        t0 = time.perf_counter()
        s.edit(change("Bench %d" % rep))
        t1 = time.perf_counter()
        cid = s.commit(comment="bench %d" % rep)
        t2 = time.perf_counter()
        if cid is None:
            raise SystemExit("commit %d changed nothing" % rep)
        edit.append(_ms(t1 - t0))
        commit.append(_ms(t2 - t1))
        total.append(_ms(t2 - t0))
        if time.perf_counter() > deadline:
            break
    s.close()
    return {"edit_ms": edit, "commit_ms": commit, "total_ms": total, "pipeline_ms": pipeline,
            "datastore_ms": [t - p for t, p in zip(total, pipeline)]}


def worker_validate(args):
    """Row 4, ours: incremental validation of a one-leaf change, full validation, libyang alone;
    also dumps the running tree as RFC 7951 JSON (clear-text secrets) for the other engines."""
    from besip_cli.datastore import codec
    from besip_cli.datastore import tree as T
    from besip_cli.datastore.session import Session
    from besip_cli.datastore.validate import validate
    s = Session(args.dir, user="bench", client="bench")
    s.edit(_tree_with(args.n))
    s.commit(comment="benchmark setup")
    schema, engine, running = s.schema, s.engine, s.running
    keys = sorted(running["pbx"]["extension"])
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(codec.dumps(running, schema))

    deadline = time.perf_counter() + args.budget
    incremental = []
    problems_seen = 0
    for rep in range(args.reps):
        candidate = T.copy_tree(running)
        candidate["pbx"]["extension"][keys[(rep * 7919) % len(keys)]]["display-name"] = "V %d" % rep
        t0 = time.perf_counter()
        problems = validate(schema, engine, running, candidate)
        incremental.append(_ms(time.perf_counter() - t0))
        problems_seen += len(problems)
        if time.perf_counter() > deadline:
            break

    full = []
    validate(schema, engine, running, running, full=True)           # warm-up
    for rep in range(args.reps_full):
        t0 = time.perf_counter()
        problems = validate(schema, engine, running, running, full=True)
        full.append(_ms(time.perf_counter() - t0))
        problems_seen += len(problems)
        if time.perf_counter() > deadline:
            break

    text = json.dumps(codec.to_json_obj(running, schema))
    libyang_only = []
    for rep in range(args.reps_full):
        t0 = time.perf_counter()
        errors = engine.parse_errors(text)
        libyang_only.append(_ms(time.perf_counter() - t0))
        problems_seen += len(errors)
        if time.perf_counter() > deadline:
            break

    # The validators must also see a problem when there is one (or the numbers mean nothing).
    bad = T.copy_tree(running)
    del bad["pbx"]["extension"][keys[5]]["secret"]
    caught_incremental = bool(validate(schema, engine, running, bad))
    caught_full = bool(validate(schema, engine, running, bad, full=True))
    s.close()
    return {"incremental_ms": incremental, "full_ms": full, "libyang_only_ms": libyang_only,
            "problems_on_valid_data": problems_seen,
            "caught_incremental": caught_incremental, "caught_full": caught_full,
            "json_bytes": os.path.getsize(args.out)}


def worker_yangson(args):
    """Row 4, yangson: schema load once, then parse (from_raw) + validate per repetition."""
    try:
        t0 = time.perf_counter()
        from yangson import DataModel
        from yangson.enumerations import ContentType, ValidationScope
    except ImportError as exc:
        return {"skipped": "yangson not installed (%s)" % exc}
    with open(args.yanglib, encoding="utf-8") as handle:
        library = handle.read()
    dm = DataModel(library, args.search.split(os.pathsep))
    schema_ms = _ms(time.perf_counter() - t0)
    with open(args.out, encoding="utf-8") as handle:
        raw = json.load(handle)
    times = []
    deadline = time.perf_counter() + args.budget
    for rep in range(args.reps):
        t0 = time.perf_counter()
        inst = dm.from_raw(raw)
        inst.validate(ValidationScope.all, ContentType.config)
        times.append(_ms(time.perf_counter() - t0))
        if time.perf_counter() > deadline:
            break
    bad = json.loads(json.dumps(raw))
    del bad["besip-pbx:pbx"]["extension"][5]["secret"]
    try:
        dm.from_raw(bad).validate(ValidationScope.all, ContentType.config)
        caught = False
    except Exception:                                # yangson raises on the first problem
        caught = True
    return {"schema_ms": schema_ms, "validate_ms": times, "caught": caught}


WORKERS = {"build": worker_build, "count": worker_count, "api_change": worker_api_change,
           "validate": worker_validate, "yangson": worker_yangson}


def worker_main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True, choices=sorted(WORKERS))
    parser.add_argument("--dir")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--reps-full", type=int, default=5)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--out")
    parser.add_argument("--yanglib")
    parser.add_argument("--search")
    parser.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    result = WORKERS[args.worker](args)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


# ====================================================================== harness side

class Proc:
    """Outcome of one child process."""

    def __init__(self, rc, wall_ms, rss_mb, out, err, timed_out):
        self.rc, self.wall_ms, self.rss_mb = rc, wall_ms, rss_mb
        self.out, self.err, self.timed_out = out, err, timed_out

    def ok(self):
        return self.rc == 0 and not self.timed_out


def run_proc(argv, env, timeout):
    """Run ARGV; wall time (ms) from spawn to reap, the child's own peak RSS (MB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        killed = []
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=env, cwd=ROOT)

        def kill():
            killed.append(True)
            proc.kill()                      # only the child this call started
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Proc(proc.returncode, wall * 1000.0, usage.ru_maxrss / 1024.0,
                    out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                    bool(killed))


class Row:
    def __init__(self, group, label, target=None, rss_target=None, note=""):
        self.group, self.label = group, label
        self.target, self.rss_target = target, rss_target
        self.times, self.rss = [], []
        self.note = note
        self.error = None

    # -- statistics
    def median(self):
        return statistics.median(self.times) if self.times else None

    def p95(self):
        if len(self.times) < 10:
            return None
        ordered = sorted(self.times)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]

    def rss_peak(self):
        return max(self.rss) if self.rss else None

    def verdict(self):
        if self.error:
            return "ERROR"
        if self.target is None and self.rss_target is None:
            return ""
        misses = []
        med = self.median()
        if self.target is not None and med is not None and med >= self.target:
            misses.append("%.1fx time" % (med / self.target))
        rss = self.rss_peak()
        if self.rss_target is not None and rss is not None and rss >= self.rss_target:
            misses.append("%.1fx RSS" % (rss / self.rss_target))
        if misses:
            return "MISS " + ", ".join(misses)
        p95 = self.p95()
        if self.target is not None and p95 is not None and p95 >= self.target:
            return "ok (p95 over)"
        return "ok"

    def target_text(self):
        parts = []
        if self.target is not None:
            parts.append("< %s ms" % _num(self.target))
        if self.rss_target is not None:
            parts.append("< %s MB" % _num(self.rss_target))
        return ", ".join(parts) or "-"

    def as_dict(self):
        return {"group": self.group, "benchmark": self.label, "n": len(self.times),
                "median_ms": self.median(), "p95_ms": self.p95(),
                "min_ms": min(self.times) if self.times else None,
                "peak_rss_mb": self.rss_peak(), "target": self.target_text(),
                "result": self.verdict(), "note": self.note, "error": self.error,
                "samples_ms": self.times}


def _num(value):
    return ("%d" % value) if value == int(value) else ("%.1f" % value)


def _fmt(value, digits=1):
    if value is None:
        return "-"
    if value >= 1000:
        return "{:,.0f}".format(value)
    if value >= 100:
        return "%.0f" % value
    return ("%%.%df" % digits) % value


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.n = args.extensions
        self.rows = []
        self.notes = []
        self.top = tempfile.mkdtemp(prefix="besip-bench-")
        self.cache = os.path.join(self.top, "cache")            # warmed once
        self.pycache = os.path.join(self.top, "pycache")
        self.env = dict(os.environ)
        for name in ("PYTHONDONTWRITEBYTECODE", "BESIP_HOME"):
            self.env.pop(name, None)
        existing = os.environ.get("PYTHONPATH")
        self.env["PYTHONPATH"] = ROOT + (os.pathsep + existing if existing else "")
        self.env["XDG_CACHE_HOME"] = self.cache
        self.env["PYTHONPYCACHEPREFIX"] = self.pycache
        self.python = sys.executable
        self.yanglint = shutil.which("yanglint") or ("/usr/bin/yanglint"
                                                     if os.path.exists("/usr/bin/yanglint") else None)
        self.json_file = os.path.join(self.top, "data-%d.json" % self.n)

    # -- helpers
    def reps(self, quick, full):
        return quick if self.quick else full

    def fresh_dir(self, name):
        path = os.path.join(self.top, "ds", name)
        os.makedirs(path)
        return path

    def cli(self, datastore, *lines, script=None, env=None, timeout=60):
        argv = [self.python, "-m", "besip_cli", "--datastore", datastore]
        if script:
            argv += ["-f", script]
        for line in lines:
            argv += ["-c", line]
        return run_proc(argv, env or self.env, timeout)

    def worker(self, kind, timeout=300, **options):
        argv = [self.python, HERE, "--worker", kind]
        for key, value in options.items():
            argv += ["--" + key.replace("_", "-")] + ([] if value is True else [str(value)])
        proc = run_proc(argv, self.env, timeout)
        if not proc.ok():
            raise RuntimeError("worker %s failed (rc %s%s): %s" % (
                kind, proc.rc, ", timed out" if proc.timed_out else "", proc.err.strip()[-800:]))
        return json.loads(proc.out.strip().splitlines()[-1]), proc

    def add(self, row):
        self.rows.append(row)
        return row

    def progress(self, text):
        sys.stderr.write("[%6.1fs] %s\n" % (time.perf_counter() - self.t_start, text))
        sys.stderr.flush()

    def repeat(self, row, reps, budget, once, warmup=1, check=None):
        """Run ONCE() (returning a Proc) WARMUP + up to REPS times within BUDGET seconds."""
        try:
            for _ in range(warmup):
                proc = once()
                if not proc.ok():
                    raise RuntimeError(_why(proc))
                if check:
                    check(proc)
            deadline = time.perf_counter() + budget
            for i in range(reps):
                proc = once()
                if not proc.ok():
                    raise RuntimeError(_why(proc))
                if check and i == 0:
                    check(proc)
                row.times.append(proc.wall_ms)
                row.rss.append(proc.rss_mb)
                if time.perf_counter() + proc.wall_ms / 1000.0 > deadline:
                    break
        except Exception as exc:                     # noqa: BLE001 -- reported in the table
            row.error = str(exc)
            self.progress("  ERROR: %s" % exc)

    def build(self, name):
        path = self.fresh_dir(name)
        result, _proc = self.worker("build", dir=path, n=self.n)
        if result["count"] != self.n:
            raise RuntimeError("setup stored %d extensions" % result["count"])
        return path, result

    # -- the benchmarks
    def warm(self):
        self.progress("warming the schema and bytecode caches")
        proc = self.cli(self.fresh_dir("warm"), "show version")
        if not proc.ok():
            raise SystemExit("besip does not start:\n%s" % proc.err)
        self.worker("count", dir=self.fresh_dir("warm-worker"))      # warms libyang-side imports
        self.version = proc.out.strip()

    def row_cold_start(self):
        row = self.add(Row("1", "show running-config, empty, COLD schema cache"))
        self.progress(row.label)
        datastore = self.fresh_dir("cold")
        self.cli(datastore, "show version")               # create the database beforehand
        counter = [0]

        def once():
            counter[0] += 1
            env = dict(self.env, XDG_CACHE_HOME=os.path.join(self.top, "cold-cache-%d" % counter[0]))
            return self.cli(datastore, "show running-config", env=env)
        self.repeat(row, self.reps(3, 5), 30, once, warmup=0)

    def rows_show(self):
        row = self.add(Row("1", "show running-config, empty config", T_SHOW_EMPTY))
        self.progress(row.label)
        empty = self.fresh_dir("show-empty")
        self.repeat(row, self.reps(7, 15), 20, lambda: self.cli(empty, "show running-config"))

        big, _setup = self.build("show-10k")
        n = self.n

        def check_text(proc):
            found = sum(1 for line in proc.out.splitlines() if line.startswith("pbx extension "))
            if found != n:
                raise RuntimeError("show printed %d extensions, expected %d" % (found, n))

        def check_json(proc):
            found = len(json.loads(proc.out)["besip-pbx:pbx"]["extension"])
            if found != n:
                raise RuntimeError("JSON holds %d extensions, expected %d" % (found, n))

        row = self.add(Row("1", "show running-config, %s ext" % _k(n), T_SHOW_10K))
        self.progress(row.label)
        self.repeat(row, self.reps(5, 10), 30, lambda: self.cli(big, "show running-config"),
                    check=check_text)
        row = self.add(Row("1", "show running-config | display json, %s ext" % _k(n)))
        self.progress(row.label)
        self.repeat(row, self.reps(5, 10), 30,
                    lambda: self.cli(big, "show running-config | display json"), check=check_json)

    def rows_script(self):
        sizes = [(self.n, T_SCRIPT_10K, T_SCRIPT_RSS, self.reps(1, 3), self.reps(60, 120))]
        small = max(self.n // 10, 10)
        sizes.append((small, None, None, self.reps(1, 3), 30))
        for n, target, rss_target, reps, budget in sizes:
            note = "" if target else "scaling reference (same script, 1/10 the size)"
            row = self.add(Row("2", "-f script: add %s ext + commit" % _k(n), target, rss_target,
                               note))
            self.progress(row.label + " (this one is slow)" * (n == self.n))
            path = os.path.join(self.top, "script-%d.cfg" % n)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write("! benchmark: %d extensions\nconfigure\n" % n)
                for i in range(n):
                    handle.write('pbx extension %d display-name "User %d" secret Xk9-strong-%d\n'
                                 % (10000 + i, i, i))
                handle.write('commit comment "benchmark script"\nend\n')
            counter = [0]
            dirs = []

            def once(path=path):
                counter[0] += 1
                datastore = self.fresh_dir("script-%d-%d" % (n, counter[0]))
                dirs.append(datastore)
                return self.cli(datastore, script=path, timeout=300)

            def check(_proc, n=n):
                count = self.worker("count", dir=dirs[-1])[0]["count"]
                if count != n:
                    raise RuntimeError("the script left %d extensions, expected %d" % (count, n))
            self.repeat(row, reps, budget, once, warmup=0, check=check)

    def rows_change(self):
        # 3a -- in-process, through the API
        total = self.add(Row("3a", "API edit+commit of 1 leaf, %s ext [in-proc]" % _k(self.n),
                             T_ONE_CHANGE))
        edit = self.add(Row("3a", "  of which Session.edit"))
        commit = self.add(Row("3a", "  of which Session.commit"))
        pipeline = self.add(Row("3a", "  of which the service pipeline (render + install)"))
        datastore = self.add(Row("3a", "  all but the service pipeline"))
        setup = Row("setup", "API: %s ext in 1 edit + commit [in-proc]" % _k(self.n),
                    note="Session open + edit + commit in a fresh process: row 2's work via the API")
        self.setup_row = setup
        self.progress(total.label)
        try:
            path, result = self.build("api-change")
            setup.times.append(result["total_ms"])
            data, _proc = self.worker("api_change", dir=path, n=self.n, reps=self.reps(15, 30),
                                      budget=self.reps(20, 40))
            total.times, edit.times, commit.times = data["total_ms"], data["edit_ms"], data["commit_ms"]
            pipeline.times, datastore.times = data["pipeline_ms"], data["datastore_ms"]
        except Exception as exc:                          # noqa: BLE001
            total.error = str(exc)
            self.progress("  ERROR: %s" % exc)
        private = self.add(Row("3a", "  the same on a private candidate (shell, scripts)",
                               T_ONE_CHANGE))
        self.progress(private.label)
        try:
            path, _result = self.build("api-change-private")
            data, _proc = self.worker("api_change", dir=path, n=self.n, reps=self.reps(15, 30),
                                      budget=self.reps(20, 40), private=True)
            private.times = data["total_ms"]
        except Exception as exc:                          # noqa: BLE001
            private.error = str(exc)

        # 3b -- end to end, one CLI process per change
        row = self.add(Row("3b", "CLI configure/1 leaf/commit, %s ext" % _k(self.n), T_CLI_CHANGE))
        self.progress(row.label)
        try:
            path, _result = self.build("cli-change")
        except Exception as exc:                          # noqa: BLE001
            row.error = str(exc)
            return
        counter = [0]
        number = 10000 + self.n // 2

        def once():
            counter[0] += 1
            return self.cli(path, "configure",
                            'pbx extension %d display-name "E2E %d"' % (number, counter[0]),
                            "commit")

        def check(proc):
            if "Commit complete" not in proc.out:
                raise RuntimeError("no commit: %r" % proc.out[-200:])
        self.repeat(row, self.reps(5, 10), 30, once, check=check)

    def rows_validate(self):
        incr = self.add(Row("4", "ours: validate(), 1-leaf change, %s ext [in-proc]" % _k(self.n)))
        full = self.add(Row("4", "ours: validate(full=True), whole tree [in-proc]"))
        lyonly = self.add(Row("4", "  libyang alone: parse+validate the JSON text",
                              note="Engine.parse_errors on the pre-serialised RFC 7951 text"))
        self.progress("validation (ours)")
        try:
            data, _proc = self.worker("validate", dir=self.fresh_dir("validate"), n=self.n,
                                      out=self.json_file, reps=30, reps_full=self.reps(5, 15),
                                      budget=self.reps(25, 50))
            incr.times, full.times, lyonly.times = (data["incremental_ms"], data["full_ms"],
                                                    data["libyang_only_ms"])
            if data["problems_on_valid_data"]:
                self.notes.append("our validator reported %d problems on VALID data"
                                  % data["problems_on_valid_data"])
            if not data["caught_incremental"] or not data["caught_full"]:
                self.notes.append("our validator missed a removed mandatory secret "
                                  "(incremental: %s, full: %s)" % (data["caught_incremental"],
                                                                   data["caught_full"]))
            self.notes.append("validation data: %s ext, %.1f MB of RFC 7951 JSON"
                              % (_k(self.n), data["json_bytes"] / 1e6))
        except Exception as exc:                          # noqa: BLE001
            incr.error = full.error = str(exc)
            self.progress("  ERROR: %s" % exc)
            return

        # yanglint: a whole process per validation (schema load + parse + validate)
        lint = self.add(Row("4", "yanglint -t config, %s ext (per process)" % _k(self.n),
                            note="load modules + parse + validate, whole process"))
        base = self.add(Row("4", "  yanglint on empty data (module load only)"))
        self.progress(lint.label)
        if not self.yanglint:
            lint.error = base.error = "yanglint not found"
        else:
            modules = sorted(glob.glob(os.path.join(YANG_DIR, "*.yang")))
            empty = os.path.join(self.top, "empty.json")
            with open(empty, "w") as handle:
                handle.write("{}\n")
            bad = os.path.join(self.top, "bad.json")
            with open(self.json_file, encoding="utf-8") as handle:
                broken = json.load(handle)
            del broken["besip-pbx:pbx"]["extension"][5]["secret"]
            with open(bad, "w", encoding="utf-8") as handle:
                json.dump(broken, handle)

            def lint_run(path):
                return run_proc([self.yanglint, "-t", "config", "-p", YANG_DIR] + modules + [path],
                                self.env, 60)
            self.repeat(lint, self.reps(5, 10), 20, lambda: lint_run(self.json_file))
            self.repeat(base, self.reps(5, 10), 10, lambda: lint_run(empty))
            if lint_run(bad).rc == 0:
                self.notes.append("yanglint ACCEPTED data with a missing mandatory secret")

        # yangson: pure Python, in a worker; schema loaded once
        ys = self.add(Row("4", "yangson from_raw+validate, %s ext [in-proc]" % _k(self.n),
                          note="schema preloaded; RSS is the worker process's peak"))
        ys_schema = self.add(Row("4", "  yangson schema load (once per process)"))
        self.progress(ys.label)
        try:
            yanglib = os.path.join(self.top, "yang-library.json")
            search = _yang_library(yanglib)
            data, proc = self.worker("yangson", out=self.json_file, yanglib=yanglib, search=search,
                                     reps=self.reps(1, 3), budget=self.reps(10, 30))
            if "skipped" in data:
                ys.error = ys_schema.error = "skipped: " + data["skipped"]
            else:
                ys.times = data["validate_ms"]
                ys_schema.times = [data["schema_ms"]]
                ys.rss = [proc.rss_mb]
                if not data["caught"]:
                    self.notes.append("yangson ACCEPTED data with a missing mandatory secret")
        except Exception as exc:                          # noqa: BLE001
            ys.error = str(exc)
            self.progress("  ERROR: %s" % exc)

    # -- output
    def table(self, elapsed):
        headers = ["#", "benchmark", "n", "median ms", "p95 ms", "min ms", "peak RSS MB",
                   "target", "result"]
        lines = []
        for row in self.rows:
            if row.error:
                cells = [row.group, row.label, "-", "-", "-", "-", "-", row.target_text(),
                         "SKIPPED" if row.error.startswith("skipped") else "ERROR"]
            else:
                cells = [row.group, row.label, str(len(row.times)), _fmt(row.median()),
                         _fmt(row.p95()), _fmt(min(row.times) if row.times else None),
                         _fmt(row.rss_peak()), row.target_text(), row.verdict()]
            lines.append(cells)
        widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(headers)]
        right = {2, 3, 4, 5, 6}

        def fmt(cells):
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
        out = []
        out.append("BESIP benchmarks (%s mode, %s extensions) -- %s" % (
            "quick" if self.quick else "full", _k(self.n), getattr(self, "version", "?")))
        out.append("python %s, %d CPUs, load average %s, yanglint %s, yangson %s, total %.0f s" % (
            sys.version.split()[0], os.cpu_count() or 0,
            " ".join("%.2f" % x for x in os.getloadavg()), _yanglint_version(self.yanglint),
            _yangson_version(), elapsed))
        stamp = _source_stamp()
        out.append("sources %s (%s)" % (stamp[0][:12], stamp[1]))
        out.append("")
        out.append(fmt(headers))
        out.append(fmt(["-" * w for w in widths]))
        previous = None
        for row, cells in zip(self.rows, lines):
            if previous is not None and row.group[:1] != previous:
                out.append("")
            previous = row.group[:1]
            out.append(fmt(cells))
        out.append("")
        out.append("Wall times are per process (spawn to exit) except [in-proc] rows (timed "
                   "around the call); peak RSS is the process's own ru_maxrss (wait4).")
        out.append("p95 is shown from 10 repetitions up; 'result' compares the median (and peak "
                   "RSS) with the target.")
        for row in self.rows:
            if row.note:
                out.append("  %s %s: %s" % (row.group, row.label.strip(), row.note))
        for row in self.rows:
            if row.error and not row.error.startswith("skipped"):
                out.append("ERROR in %s %s: %s" % (row.group, row.label.strip(), row.error))
            elif row.error:
                out.append("%s %s: %s" % (row.group, row.label.strip(), row.error))
        for note in self.notes:
            out.append("note: " + note)
        return "\n".join(out)

    def run(self):
        self.t_start = time.perf_counter()
        self.setup_row = None
        before = _source_stamp()
        try:
            self.warm()
            self.rows_show()
            self.row_cold_start()
            self.rows_script()
            self.rows_change()
            self.rows_validate()
            if self.setup_row:
                self.add(self.setup_row)
            elapsed = time.perf_counter() - self.t_start
            after = _source_stamp()
            if after != before:
                self.notes.append("WARNING: besip_cli/ or yang/ changed during the run (%s); "
                                  "rows may mix two versions of the code" % after[1])
            text = self.table(elapsed)
            print(text)
            if self.args.json:
                with open(self.args.json, "w", encoding="utf-8") as handle:
                    json.dump({"quick": self.quick, "extensions": self.n, "elapsed_s": elapsed,
                               "rows": [r.as_dict() for r in self.rows], "notes": self.notes},
                              handle, indent=2)
            return 1 if any(r.error and not r.error.startswith("skipped") for r in self.rows) else 0
        finally:
            if self.args.keep:
                sys.stderr.write("kept %s\n" % self.top)
            else:
                shutil.rmtree(self.top, ignore_errors=True)


def _why(proc):
    if proc.timed_out:
        return "timed out after %.0f ms" % proc.wall_ms
    return "exit status %s: %s" % (proc.rc, (proc.err.strip() or proc.out.strip())[-400:])


def _source_stamp():
    """(digest, newest file) of the package and YANG sources, to notice concurrent edits."""
    import hashlib
    digest = hashlib.sha256()
    newest = (0, "")
    for pattern in ("besip_cli/**/*.py", "yang/*.yang"):
        for path in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
            with open(path, "rb") as handle:
                digest.update(path.encode() + b"\0" + handle.read())
            newest = max(newest, (os.path.getmtime(path), os.path.relpath(path, ROOT)))
    return digest.hexdigest(), "newest: %s at %s" % (
        newest[1], time.strftime("%H:%M:%S", time.localtime(newest[0])))


def _k(n):
    return "{:,}".format(n)


def _yanglint_version(path):
    if not path:
        return "absent"
    try:
        out = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=10).stdout
        return out.split()[-1] if out.split() else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def _yangson_version():
    try:
        from importlib.metadata import version
        return version("yangson")
    except Exception:                                     # noqa: BLE001
        return "absent"


def _module_info(path):
    """(name, revision, namespace, imports) read from a YANG file's text."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    name = re.search(r"^\s*(?:module|submodule)\s+([\w.-]+)", text, re.M).group(1)
    namespace = re.search(r'\bnamespace\s+"([^"]+)"', text)
    revision = re.search(r"\brevision\s+\"?(\d{4}-\d{2}-\d{2})", text)
    imports = re.findall(r"\bimport\s+([\w.-]+)", text)
    return name, revision.group(1) if revision else "", namespace.group(1) if namespace else "", imports


def _yang_library(path):
    """Write an RFC 7895 YANG library for yangson: our modules implemented, their imports
    (found in libyang's and pyang's module directories) imported. Returns the search path."""
    dirs = [YANG_DIR, "/usr/share/yang/modules/libyang",
            os.path.join(sys.prefix, "share", "yang", "modules", "ietf")]
    dirs = [d for d in dirs if os.path.isdir(d)]
    modules = {}
    pending = []
    for file in sorted(glob.glob(os.path.join(YANG_DIR, "*.yang"))):
        name, revision, namespace, imports = _module_info(file)
        modules[name] = {"name": name, "revision": revision, "namespace": namespace,
                         "conformance-type": "implement"}
        pending.extend(imports)
    while pending:
        name = pending.pop()
        if name in modules:
            continue
        found = None
        for d in dirs:
            matches = sorted(glob.glob(os.path.join(d, name + "@*.yang"))) + \
                glob.glob(os.path.join(d, name + ".yang"))
            if matches:
                found = matches[-1]
                break
        if found is None:
            raise RuntimeError("yangson: module %s not found in %s" % (name, dirs))
        mname, revision, namespace, imports = _module_info(found)
        modules[name] = {"name": name, "revision": revision, "namespace": namespace,
                         "conformance-type": "import"}
        pending.extend(imports)
    library = {"ietf-yang-library:modules-state": {"module-set-id": "besip-bench",
                                                   "module": list(modules.values())}}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(library, handle, indent=1)
    return os.pathsep.join(dirs)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--worker" in argv:
        return worker_main(argv)
    parser = argparse.ArgumentParser(description="BESIP performance benchmarks")
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions (about 2 minutes instead of about 5)")
    parser.add_argument("--extensions", type=int, default=10000, metavar="N",
                        help="size of the large configuration (default 10000; the targets "
                             "are for 10000)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    return Bench(args).run()


if __name__ == "__main__":
    sys.exit(main())
