"""The YANG modules pass pyang --strict and yanglint, and describe every node."""

import glob
import os
import subprocess
import sys


from conftest import ROOT

YANG = sorted(glob.glob(os.path.join(ROOT, "yang", "*.yang")))


def test_pyang_strict_is_clean():
    pyang = os.path.join(os.path.dirname(sys.executable), "pyang")
    proc = subprocess.run([pyang, "--strict", "-p", os.path.join(ROOT, "yang")] + YANG,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stderr


def test_yanglint_is_clean_and_accepts_the_example():
    example = os.path.join(ROOT, "yang", "examples", "office.json")
    proc = subprocess.run(["yanglint", "-p", os.path.join(ROOT, "yang"), "-t", "config"]
                          + YANG + [example], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stderr


def test_every_node_has_a_description(env):
    from besip_cli import schema
    nodes = list(schema.load().walk())
    assert len(nodes) > 60
    assert [n for n in nodes if not n.help] == []
    assert all(n.help[0].isupper() for n in nodes)
