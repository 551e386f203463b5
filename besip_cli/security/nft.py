"""The `inet besip` nftables table, through the nft program (argv lists, no shell): load
the rendered file, add and delete ban elements, list the banned sources with their
counters."""

import ipaddress
import json
import subprocess

TABLE = ("inet", "besip")
TIMEOUT = 10


class NftError(Exception):
    pass


def _nft(*argv, stdin=None):
    try:
        proc = subprocess.run(["nft"] + list(argv), input=stdin, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NftError("nft: %s" % exc)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise NftError("nft: %s" % (lines[0] if lines else "exit status %d" % proc.returncode))
    return proc.stdout


def load(path):
    """Load the rendered file (one transaction: the whole table or nothing)."""
    _nft("-f", path)


def family_set(base, address):
    """The set of BASE (ban, flood_register...) holding ADDRESS: BASE4 or BASE6."""
    return "%s%d" % (base, ipaddress.ip_address(address).version)


def add(elements):
    """Add [(set, address, timeout seconds)] in one transaction."""
    if elements:
        _nft("-f", "-", stdin="".join("add element inet besip %s { %s timeout %ds }\n"
                                      % (name, ipaddress.ip_address(address), max(1, int(timeout)))
                                      for name, address, timeout in elements))


def delete(name, address):
    _nft("delete", "element", *TABLE, name, "{ %s }" % ipaddress.ip_address(address))


def banned():
    """[(set name, address, seconds left, packets dropped)] of every ban and flood set
    ([] when there is no table)."""
    try:
        objects = json.loads(_nft("-j", "list", "table", *TABLE))["nftables"]
    except NftError:
        return []
    out = []
    for obj in objects:
        info = obj.get("set")
        if not info or not info["name"].startswith(("ban", "flood_")):
            continue
        for elem in info.get("elem", []):
            elem = elem.get("elem", elem) if isinstance(elem, dict) else {"val": elem}
            packets = (elem.get("counter") or {}).get("packets", 0)
            out.append((info["name"], elem["val"], elem.get("expires", 0), packets))
    return out
