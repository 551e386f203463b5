"""Shared fixtures: the real `besip` program on a fresh data directory, and the API."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "office.cfg")


@pytest.fixture(scope="session")
def env(tmp_path_factory):
    """Environment for besip subprocesses: one schema cache for the whole run."""
    cache = tmp_path_factory.mktemp("cache")
    environ = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=ROOT)
    environ.pop("BESIP_HOME", None)
    os.environ["XDG_CACHE_HOME"] = str(cache)
    return environ


class Besip:
    """Runs `besip` with a data directory; each call returns the CompletedProcess."""

    def __init__(self, directory, env):
        self.directory = str(directory)
        self.env = env

    def __call__(self, *lines, file=None, stdin=None, check=None, env=None):
        argv = [sys.executable, "-m", "besip_cli", "--datastore", self.directory]
        if file:
            argv += ["-f", str(file)]
        for line in lines:
            argv += ["-c", line]
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              env=env or self.env, timeout=60)
        assert "Traceback" not in proc.stderr, proc.stderr
        notice = "besip: creating a new datastore in %s\n" % self.directory
        if proc.stderr.startswith(notice):       # the first use (tests/test_bad_input.py)
            proc.stderr = proc.stderr[len(notice):]
        if check is not None:
            assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
        return proc

    def config(self, *lines, check=0):
        """Run LINES in configuration mode."""
        return self("configure", *lines, check=check)

    def show(self, what="show running-config"):
        return self(what, check=0).stdout


@pytest.fixture
def besip(tmp_path, env):
    return Besip(tmp_path / "data", env)


@pytest.fixture
def office(besip):
    """A data directory holding the README's office example, committed."""
    besip(file=EXAMPLE, check=0)
    return besip


@pytest.fixture
def session(tmp_path, env):
    from besip_cli.datastore.session import Session
    s = Session(str(tmp_path / "api"), user="tester", client="test")
    yield s
    s.close()
