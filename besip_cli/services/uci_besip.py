"""/etc/config/besip: what OpenWrt init scripts need (which daemons run, their ports)."""

from .install import File
from .render import render

NAME = "uci_besip"
SUBTREES = ("system", "pbx")
AFTER = ()


def verify(tx):
    """Nothing beyond YANG."""


def generate(tx):
    mode = tx.new["pbx"]["mode"]
    return {"/etc/config/besip": File(render(
        "uci/besip", pbx=tx.new["pbx"], system=tx.new["system"],
        kamailio=mode != "pbx", asterisk=mode != "proxy"))}
