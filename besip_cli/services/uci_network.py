"""/etc/config/network: loopback and the management interface's resolvers (OpenWrt UCI).

The model has no addressing of the management interface yet, so it stays on DHCP."""

from .install import File
from .render import render

NAME = "uci_network"
SUBTREES = ("system",)
AFTER = ()


def verify(tx):
    """Nothing beyond YANG."""


def generate(tx):
    return {"/etc/config/network": File(render("uci/network", dns=tx.new["system"]["dns"]))}
