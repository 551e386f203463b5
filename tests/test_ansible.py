"""examples/ansible/playbook.yml, run by Debian's ansible-playbook (ansible.netcommon's
netconf connection and netconf_config over ncclient) against three besip-sshd servers on
loopback, each with its own datastore: all confirmed and kept, or, when one box refuses
its value, none kept (the others are never confirmed and revert by themselves)."""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from netconf_fixtures import free_port

PASSWORD = "Fl33t-pass-1"
CONFIRM = 3
BOXES = ("box1", "box2", "box3")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, env):
    from conftest import Besip
    if not shutil.which("ansible-playbook"):
        pytest.skip("Debian's ansible is not installed")
    base = tmp_path_factory.mktemp("fleet")
    boxes, procs = {}, []
    for name in BOXES:
        besip = Besip(base / name, env)
        besip.config("system user admin role admin password %s" % PASSWORD,
                     "system hostname %s-old" % name, "commit")
        besip.port = free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "besip_cli.ssh.server", "--datastore", besip.directory,
             "--listen", "127.0.0.1", "--port", str(besip.port)],
            env=dict(env, PYTHONPATH=ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        boxes[name] = besip
    for besip in boxes.values():
        deadline = time.time() + 20
        while time.time() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", besip.port)) == 0:
                    break
            time.sleep(0.1)
    yield base, boxes
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def run_playbook(base, boxes, port_min):
    inventory = base / "inventory.yml"
    lines = ["besip:", "  hosts:"]
    for name, besip in boxes.items():
        lines.append("    %s: {ansible_host: 127.0.0.1, ansible_port: %d, besip_hostname: %s-new, "
                     "besip_rtp_port_min: %d}" % (name, besip.port, name, port_min[name]))
    lines += ["  vars:", "    ansible_connection: ansible.netcommon.netconf",
              "    ansible_network_os: default", "    ansible_user: admin",
              "    ansible_password: %s" % PASSWORD, "    besip_domain: fleet.example.com",
              "    confirm_timeout: %d" % CONFIRM, ""]
    inventory.write_text("\n".join(lines))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    environment.update(ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PARAMIKO_LOOK_FOR_KEYS="False",
                       ANSIBLE_LOCAL_TEMP=str(base / "tmp"), ANSIBLE_HOME=str(base / "ansible"),
                       ANSIBLE_NOCOLOR="1", PATH="/usr/bin:/bin")
    return subprocess.run(["ansible-playbook", "-i", str(inventory),
                           os.path.join(ROOT, "examples/ansible/playbook.yml")],
                          capture_output=True, text=True, env=environment, timeout=240)


def hostnames(boxes):
    return {name: besip.show().split("system hostname ")[1].split()[0] for name, besip in boxes.items()}


def test_a_refusing_box_leaves_the_whole_fleet_as_it_was(fleet):
    base, boxes = fleet
    proc = run_playbook(base, boxes, {"box1": 11000, "box2": 11000, "box3": 25000})
    assert proc.returncode != 0, proc.stdout
    assert "box3 refused its configuration" in proc.stdout and "port-min must be below" in proc.stdout, \
        proc.stdout[-3000:]
    deadline = time.time() + CONFIRM + 10
    while hostnames(boxes) != {n: n + "-old" for n in BOXES} and time.time() < deadline:
        time.sleep(0.2)
    assert hostnames(boxes) == {n: n + "-old" for n in BOXES}
    assert all("rtp" not in besip.show() for besip in boxes.values())


def test_every_box_accepting_is_confirmed_and_kept(fleet):
    base, boxes = fleet
    proc = run_playbook(base, boxes, {name: 11000 for name in BOXES})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    time.sleep(CONFIRM + 1)                    # past the confirm timeout: nothing reverts
    assert hostnames(boxes) == {n: n + "-new" for n in BOXES}
    assert all("port-min 11000" in besip.show() for besip in boxes.values())
