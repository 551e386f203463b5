"""/etc/config/besip: what OpenWrt init scripts need (which daemons run, their ports)."""

from .install import File
from .render import render

NAME = "uci_besip"
SUBTREES = ("system", "pbx")
AFTER = ()


def verify(config, ctx):
    """Nothing beyond YANG."""


def generate(config, ctx):
    mode = config["pbx"]["mode"]
    return {"/etc/config/besip": File(render(
        "uci/besip", pbx=config["pbx"], system=config["system"],
        kamailio=mode != "pbx", asterisk=mode != "proxy"))}
