"""The command-line layer shared by besip, besip-sshd and besip-netconf (click), and the
README's first examples run exactly as written."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

PROGRAMS = {"besip": "besip_cli", "besip-sshd": "besip_cli.ssh.server",
            "besip-netconf": "besip_cli.netconf.stdio"}


def run(argv, env, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, **kwargs)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_every_program_has_the_same_options(name, env):
    from besip_cli import __version__
    argv = [sys.executable, "-m", PROGRAMS[name]]
    shown = run(argv + ["--help"], env)
    assert shown.returncode == 0 and shown.stdout.startswith("Usage: %s [OPTIONS]" % name)
    for option in ("--datastore DIR", "--version", "-h, --help", "Exit status:"):
        assert option in shown.stdout, (option, shown.stdout)
    assert run(argv + ["-h"], env).stdout == shown.stdout
    assert (run(argv + ["--version"], env).stdout) == "%s %s\n" % (name, __version__)
    wrong = run(argv + ["--no-such-option"], env)
    assert wrong.returncode == 2 and "No such option '--no-such-option'" in wrong.stderr


def test_readme_lists_the_exit_statuses():
    from besip_cli.command_line import EXIT_STATUS
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    for line in EXIT_STATUS.splitlines()[2:]:
        code, meaning = line.split(None, 1)
        assert re.search(r"^\| `%s` \| %s" % (code, re.escape(meaning)), readme, re.M), line


def test_readme_first_examples_work_as_written(tmp_path, env):
    """After `make run`, the README's PATH line, then its first examples, in a fresh home."""
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    setup = re.search(r"^    (export PATH=\S+)", readme, re.M).group(1)
    examples = readme.split("## Using it", 1)[1].split("```")[1]
    commands = [line[2:].split("  #")[0].strip() for line in examples.splitlines() if line.startswith("$ ")]
    assert len(commands) >= 4
    venv = os.path.dirname(sys.executable)
    if not os.path.exists(os.path.join(venv, "besip")):
        pytest.skip("the tests do not run in the project's venv (make test sets it up)")
    home = dict(env, HOME=str(tmp_path), PATH="/usr/bin:/bin")
    home.pop("PYTHONPATH", None)
    for command in commands:
        proc = run(["sh", "-c", "%s && cd %s && %s" % (setup.replace("$PWD", ROOT), ROOT, command)], home)
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
    shown = run(["sh", "-c", "%s && besip -c 'show running-config pbx extension 103'"
                 % setup.replace("$PWD", ROOT)], home)
    assert "pbx extension 103" in shown.stdout
    assert os.path.isdir(tmp_path / ".local" / "share" / "besip")
