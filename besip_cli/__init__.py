"""BESIP: the management plane of an embedded IP-telephony appliance."""

__version__ = "0.1.0"
