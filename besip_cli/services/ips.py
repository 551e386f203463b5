"""The IPS's kernel layer: an nftables table `inet besip` and the policy the BESIP daemon
enforces (/etc/besip/ips.nft and /etc/besip/ips.json).

The table drops pure floods with no user space in the path: per-source meters (dynamic
sets with timeouts) per SIP method put a source over its rate into a ban set, and every
later packet of it is dropped before conntrack sees it (priority raw). The daemon loads
the file (it holds CAP_NET_ADMIN, the CLI need not) on the reload command and adds the
sources the SIP layer finds abusive to `ban4`/`ban6`. A disabled IPS renders a file that
deletes the table, so no rule is left behind.
"""

import datetime
import ipaddress
import json

from ..daemon.control import ControlError, request
from .listen import listens
from .errors import ServiceError
from .install import File
from .render import render

NAME = "ips"
SUBTREES = ("security", "pbx")
AFTER = ()
STATE_ROOT = "security"         # the top-level node of the state hook's data
NFT = "/etc/besip/ips.nft"
POLICY = "/etc/besip/ips.json"
EVENTS = "127.0.0.1:5065"      # default UDP address the daemon hears Kamailio's events on
# SIP methods the kernel tells apart by the first bytes of a UDP payload ("other": the rest).
METHODS = ("register", "invite", "options")
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def state(settings):
    """State hook: the `config false` blocked sources, asked of the BESIP daemon."""
    try:
        rows = request(settings, "ips.blocked")
    except ControlError as exc:
        raise ServiceError(str(exc))
    sources = {r["address"]: {
        "address": r["address"], "reason": r["reason"],
        "since": datetime.datetime.fromtimestamp(r["since"], datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "left": str(max(0, int(r["left"]))), "hits": str(r["hits"]), "dropped": str(r["dropped"])}
        for r in rows}
    return {"security": {"ips": {"blocked": {"source": sources}}}}


def networks(ips, which):
    """[(network, its path words, comment)] of the allow or deny list (libyang stores
    prefixes canonical: no host bits)."""
    return [(ipaddress.ip_network(prefix), "security ips %s %s" % (which, prefix), entry.get("comment", ""))
            for prefix, entry in ips[which].items()]


def peers(config):
    """[(network, comment)] of the trunks given by IP address (host names are not resolved)."""
    out = []
    for name, trunk in config["pbx"]["trunk"].items():
        try:
            address = ipaddress.ip_address(trunk["host"])
        except ValueError:
            continue
        out.append((ipaddress.ip_network(address), "pbx trunk %s" % name))
    return out


def own_addresses(config):
    """[(address, what it is)] this box must stay reachable on."""
    out = [(net.network_address, "loopback") for net in LOOPBACK]
    for address, port, transport in listens(config["pbx"]):
        ip = ipaddress.ip_address(address)
        if not ip.is_unspecified:
            out.append((ip, "pbx sip listen %s %s %s" % (address, port, transport)))
    return out


def verify(tx):
    """No address both allowed and denied, no deny covering
    the box's own addresses, a maximum ban no shorter than the first."""
    ips = tx.new["security"]["ips"]
    allow, deny = networks(ips, "allow"), networks(ips, "deny")
    for a, a_path, _ in allow:
        for d, d_path, _ in deny:
            if a.version == d.version and a.overlaps(d):
                raise ServiceError("%s overlaps %s: an address cannot be both allowed and denied"
                                   % (a_path, d_path))
    for d, d_path, _ in deny:
        for address, what in own_addresses(tx.new):
            if address.version == d.version and address in d:
                raise ServiceError("%s covers %s, this box's own address (%s)" % (d_path, address, what))
    ban = ips["ban"]
    if int(ban["maximum"]) < int(ban["time"]):
        raise ServiceError("security ips ban maximum %s is shorter than ban time %s"
                           % (ban["maximum"], ban["time"]))


def exempt(config):
    """[(network, comment)] never limited or banned: the allow list, and the trunks'
    addresses unless ban-peers."""
    ips = config["security"]["ips"]
    out = [(net, comment) for net, _, comment in networks(ips, "allow")]
    if ips["ban-peers"] != "true":
        out += peers(config)
    return out


def _by_family(entries):
    return {4: [e for e in entries if e[0].version == 4], 6: [e for e in entries if e[0].version == 6]}


def sip_ports(config):
    """UDP ports SIP is listened on (the kernel meters only UDP: TCP payloads need reassembly)."""
    return sorted({int(port) for _, port, transport in listens(config["pbx"]) if transport == "udp"})


def generate(tx):
    config = tx.new
    ips = config["security"]["ips"]
    enabled = ips["enabled"] == "true"
    deny = [(net, comment) for net, _, comment in networks(ips, "deny")]
    nft = render("nft/ips.nft", enabled=enabled, allow=_by_family(exempt(config)),
                 deny=_by_family(deny), ports=sip_ports(config), methods=METHODS,
                 limits=ips["limits"], ban_time=int(ips["ban"]["time"]))
    policy = {"enabled": enabled, "nft": tx.settings.path(NFT),
              "ban": {k: int(v) for k, v in ips["ban"].items()},
              "exempt": [str(net) for net, _ in exempt(config)]}
    return {NFT: File(nft), POLICY: File((json.dumps(policy, indent=1) + "\n").encode())}


def events_address(settings):
    """(host, port) of the daemon's event socket (deployment setting [ips] events)."""
    text = settings.of(NAME, "events") or EVENTS
    host, _, port = text.rpartition(":")
    try:
        return str(ipaddress.ip_address(host.strip("[]"))), int(port)
    except ValueError:
        raise ServiceError("services.toml: [ips] events must be ADDRESS:PORT, not %r" % text)


def ere_literal(text):
    """TEXT matched literally in a POSIX extended regular expression (Kamailio's =~)."""
    return "".join("\\" + c if c in ".[]()*+?{}|^$\\" else c for c in text)


def kamailio_values(tx):
    """What the Kamailio configuration needs of the IPS (None when it is disabled)."""
    ips = tx.new["security"]["ips"]
    if ips["enabled"] != "true":
        return None
    host, port = events_address(tx.settings)
    limits = ips["limits"]
    return {"events": "sip:%s:%d" % ("[%s]" % host if ":" in host else host, port),
            "exempt": ",".join(str(net) for net, _ in exempt(tx.new)),
            "scanners": "|".join(ere_literal(s) for s in ips["scanner-user-agent"]),
            "auth_count": ips["auth-failures"]["count"], "auth_window": ips["auth-failures"]["window"],
            "unknown_count": ips["unknown-users"]["count"], "unknown_window": ips["unknown-users"]["window"],
            # pike counts requests per 2 s: twice the sum of the per-method rates
            "pike_density": 2 * sum(int(limits[m]["rate"]) for m in METHODS + ("other",))}
