"""The IPS (issue 12): its configuration's bad input, the nftables table it renders, the
BESIP daemon that bans, and floods from attacker namespaces against the real Kamailio."""

import json
import os

import pytest

import netns

needs_netns = pytest.mark.skipif(not netns.available(), reason="needs root, ip and nft")


@pytest.fixture
def lab():
    lab = netns.Lab()
    yield lab
    lab.close()


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("lines, message", [
    (["security ips allow 10.0.0.0/8", "security ips deny 10.1.0.0/16"],
     "security ips allow 10.0.0.0/8 overlaps security ips deny 10.1.0.0/16: an address "
     "cannot be both allowed and denied"),
    (["security ips deny 2001:db8::/32", "security ips allow 2001:db8:1::/48 comment office"],
     "security ips allow 2001:db8:1::/48 overlaps security ips deny 2001:db8::/32: an address "
     "cannot be both allowed and denied"),
    (["pbx sip listen 203.0.113.5 5060 udp", "security ips deny 203.0.113.0/24"],
     "security ips deny 203.0.113.0/24 covers 203.0.113.5, this box's own address "
     "(pbx sip listen 203.0.113.5 5060 udp)"),
    (["security ips deny 0.0.0.0/0"],
     "security ips deny 0.0.0.0/0 covers 127.0.0.0, this box's own address (loopback)"),
    (["security ips ban time 3600 maximum 600"],
     "security ips ban maximum 600 is shorter than ban time 3600"),
])
def test_contradictory_lists_are_refused_at_commit_naming_the_paths(besip, lines, message):
    besip("show running-config", check=0)
    before = besip.show()
    proc = besip("configure", *lines, "commit", check=1)
    assert proc.stderr == "-c:%d: %% commit refused: %s\n" % (len(lines) + 2, message)
    proc = besip("configure", *lines, "commit check", check=1)
    assert proc.stderr == "-c:%d: %% Validation failed: %s\n" % (len(lines) + 2, message)
    assert besip.show() == before


@pytest.mark.parametrize("statement, word", [
    ("security ips allow 10.0.0.0/33", "10.0.0.0/33"),
    ("security ips deny 300.1.2.0/24", "300.1.2.0/24"),
    ('security ips allow 10.0.0.0/8 comment "a\\"b"', '"a\\"b"'),
    ("security ips scanner-user-agent x\\y", "x\\y"),
])
def test_invalid_prefixes_and_hostile_text_are_refused_with_a_caret(besip, statement, word):
    proc = besip("configure", statement, check=1)
    first, caret, error = proc.stderr.splitlines()[:3]
    assert first == "-c:2: " + statement
    assert caret.index("^") == first.index(word)
    assert error.startswith("-c:2: % Invalid input detected at '^' marker.")


def test_host_bits_are_cleared_and_comments_kept(besip):
    besip("configure", "security ips allow 192.0.2.7/24 comment \"head office NAT\"", "commit", check=0)
    assert besip.show("show running-config security") == \
        'security ips allow 192.0.2.0/24\n comment "head office NAT"\n!\n'


# --------------------------------------------------------------------------- kernel layer

def nft_file(besip):
    return os.path.join(besip.directory, "root", "etc", "besip", "ips.nft")


def table(lab, ns=None):
    """The `inet besip` table of namespace NS as nft's JSON objects (None: no table)."""
    proc = lab.exec(ns or lab.server, "nft", "-j", "list", "table", "inet", "besip", check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)["nftables"]


def elements(objects, name):
    for obj in objects:
        if "set" in obj and obj["set"]["name"] == name:
            return obj["set"].get("elem", [])
    raise KeyError(name)


@needs_netns
def test_the_rendered_table_loads_and_a_disabled_ips_removes_it(besip, lab):
    besip("configure", "security ips enabled true",
          "security ips allow 192.0.2.0/24 comment \"head office NAT\"",
          "security ips allow 2001:db8:1::/48", "security ips deny 198.51.100.0/24 comment scanners",
          "pbx trunk carrier host 203.0.113.9 register false", "commit", check=0)
    lab.exec(lab.server, "nft", "-f", nft_file(besip))
    objects = table(lab)
    allow = elements(objects, "allow4")
    assert {"elem": {"val": {"prefix": {"addr": "192.0.2.0", "len": 24}}, "comment": "head office NAT"}} in allow
    assert {"elem": {"val": "203.0.113.9", "comment": "pbx trunk carrier"}} in allow
    assert elements(objects, "allow6") == [{"prefix": {"addr": "2001:db8:1::", "len": 48}}]
    assert elements(objects, "deny4") == [{"elem": {"val": {"prefix": {"addr": "198.51.100.0", "len": 24}},
                                                    "comment": "scanners"}}]
    lab.exec(lab.server, "nft", "-f", nft_file(besip))          # loading again replaces it
    assert len([o for o in table(lab) if "table" in o]) == 1
    besip("configure", "security ips ban-peers true", "commit", check=0)
    lab.exec(lab.server, "nft", "-f", nft_file(besip))
    assert {"elem": {"val": "203.0.113.9", "comment": "pbx trunk carrier"}} not in elements(table(lab), "allow4")
    besip("configure", "security ips enabled false", "commit", check=0)
    lab.exec(lab.server, "nft", "-f", nft_file(besip))
    assert table(lab) is None
    assert lab.exec(lab.server, "nft", "list", "ruleset").stdout == ""
    lab.exec(lab.server, "nft", "-f", nft_file(besip))           # and stays removed
    assert table(lab) is None
