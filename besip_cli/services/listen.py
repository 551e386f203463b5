"""Checks of `pbx sip listen` shared by Kamailio and Asterisk (whichever listens)."""

from . import ServiceError

DEFAULT_LISTEN = [("0.0.0.0", "5060", "udp")]


def listens(pbx):
    """The (address, port, transport) SIP is listened on: the configured ones, else port 5060."""
    return list(pbx["sip"]["listen"]) or DEFAULT_LISTEN


def verify(listens):
    """No TLS (no certificate management yet) and no IPv6 zone index (neither program's
    listen syntax carries one)."""
    for address, port, transport in listens:
        if transport == "tls":
            raise ServiceError("pbx sip listen %s %s tls: TLS needs a certificate, which BESIP "
                               "does not manage yet; use udp or tcp" % (address, port))
        if "%" in address:
            raise ServiceError("pbx sip listen %s %s %s: a zone index (%%%s) cannot be listened "
                               "on; give the address without it"
                               % (address, port, transport, address.split("%", 1)[1]))
