"""The IPS component of the BESIP daemon.

Kamailio's generated configuration finds SIP-level abuse (password guessing, user
enumeration, scanners, pike floods) and sends one datagram per finding to the event socket
(`besip-ips 1 ADDRESS REASON DETAIL`, loopback only). The component bans the source in the
kernel (`ban4`/`ban6`, with a timeout that escalates for repeat offenders), flushes its
conntrack entries so an established flow is cut, and records it in SQLite. Pure floods
never reach it: the kernel bans them alone (flood_* sets). `reload` loads the rendered
table and puts every ban in force back into it.
"""

import ipaddress
import json
import os
import socket
import subprocess
import sys
import time

from ..services import ips as ips_service
from ..services.errors import ServiceError
from ..services.kamailio_rpc import rpc
from . import nft
from .store import KEEP_EVENTS, Store

REASONS = ("auth-failures", "unknown-users", "scanner", "pike-flood")
MAGIC = "besip-ips"


class Ips:
    name = "ips"

    def __init__(self, directory, settings):
        self.settings = settings
        self.store = Store(os.path.join(directory, "security.db"))
        self.policy = {"enabled": False, "exempt": []}
        self.exempt = []
        host, port = ips_service.events_address(settings)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, port))

    def sockets(self):
        return [(self.sock, self.on_event)]

    def commands(self):
        return {"blocked": self.blocked, "clear": self.clear, "events": self.events}

    # ------------------------------------------------------------------ configuration

    def reload(self):
        """Load the rendered table (if a commit rendered one) and put the bans in force back."""
        path = self.settings.path(ips_service.POLICY)
        if not os.path.exists(path):
            return
        with open(path) as f:
            policy = json.load(f)
        kept = [(name, address, left) for name, address, left, _ in nft.banned() if left > 0]
        nft.load(policy["nft"])
        self.policy = policy
        self.exempt = [ipaddress.ip_network(n) for n in policy["exempt"]]
        if policy["enabled"]:
            now = time.time()
            again = {(n, a): left for n, a, left in kept}
            for address, (_, _, until, _) in self.store.bans(now).items():
                again.setdefault((nft.family_set("ban", address), address), until - now)
            nft.add([(n, a, left) for (n, a), left in again.items()])

    # ------------------------------------------------------------------ events

    def on_event(self):
        data, sender = self.sock.recvfrom(2048)
        event = parse(data, sender)
        if event is None:
            return
        try:
            self.report(*event)
        except nft.NftError as exc:
            log("ips: cannot ban %s: %s" % (event[0], exc))

    def report(self, address, reason, detail):
        """Kamailio found ADDRESS abusing it: ban it unless it is exempt or already banned."""
        if not self.policy["enabled"]:
            return
        ip = ipaddress.ip_address(address)
        if any(ip in net for net in self.exempt):
            self.store.event(address, "ignored", "%s %s (allow-listed)" % (reason, detail))
            return
        now = time.time()
        if self.store.active(address, now):
            self.store.hit(address)
            return
        ban = self.policy["ban"]
        seconds = min(ban["time"] * ban["escalation"] ** self.store.offences(address), ban["maximum"])
        nft.add([(nft.family_set("ban", address), address, seconds)])
        flush_conntrack(address)
        why = ("%s %s" % (reason, detail)).strip()
        self.store.ban(address, why, seconds, now)
        log("ips: banned %s for %ds: %s" % (address, seconds, why))

    # ------------------------------------------------------------------ operation

    def blocked(self):
        """The sources dropped now: address, reason, since, left (seconds), hits, dropped."""
        now = time.time()
        bans = self.store.bans(now)
        rows = {}
        for name, address, left, packets in nft.banned():
            if name.startswith("flood_"):
                method = name[len("flood_"):-1]
                since = now - (self.policy.get("ban", {}).get("time", left) - left)
                row = {"reason": "%s-flood" % method, "since": since, "hits": 1}
            else:
                reason, since, _, hits = bans.get(address, ("manual", now, 0, 1))
                row = {"reason": reason, "since": since, "hits": hits}
            row.update(address=address, left=left, dropped=packets)
            rows[address] = _merged(rows.get(address), row)
        return sorted(rows.values(), key=lambda r: r["since"])

    def events(self, limit=KEEP_EVENTS):
        """The newest LIMIT events: at, address, event, reason."""
        return [dict(zip(("at", "address", "event", "reason"), row))
                for row in self.store.events(int(limit))]

    def clear(self, address):
        """Unban ADDRESS ('all': every source); returns how many sources were unbanned."""
        if address != "all":
            address = str(ipaddress.ip_address(address))
        cleared = set()
        for name, banned, _, _ in nft.banned():
            if address in ("all", banned):
                try:
                    nft.delete(name, banned)
                except nft.NftError:
                    pass            # it expired meanwhile
                cleared.add(banned)
        for banned in self.store.bans():
            if address in ("all", banned):
                cleared.add(banned)
        for banned in cleared:
            self.store.unban(banned, "cleared")
            try:
                rpc(self.settings, "htable.delete", "ipsban", banned)
            except ServiceError:
                pass                # Kamailio not running: nothing of it to clear
        return len(cleared)

    def close(self):
        self.sock.close()
        self.store.close()


def _merged(old, new):
    """One row per address held in several sets: the longest ban, the packets of all."""
    if old is None:
        return new
    keep = dict(old if old["left"] >= new["left"] else new)
    keep["dropped"] = old["dropped"] + new["dropped"]
    return keep


def parse(data, sender):
    """(address, reason, detail) of a well-formed event from loopback, else None."""
    try:
        if not ipaddress.ip_address(sender[0]).is_loopback:
            return None
        words = data.decode("ascii").split()
        if len(words) < 4 or words[0] != MAGIC or words[1] != "1" or words[3] not in REASONS:
            return None
        address = str(ipaddress.ip_address(words[2]))
    except (UnicodeDecodeError, ValueError):
        return None
    detail = " ".join(words[4:])[:80]
    return address, words[3], "".join(c for c in detail if c.isprintable())


def flush_conntrack(address):
    """Delete ADDRESS's conntrack entries, so an established flow does not outlive the ban
    (exit status 1: there were none)."""
    family = "ipv6" if ipaddress.ip_address(address).version == 6 else "ipv4"
    try:
        subprocess.run(["conntrack", "-D", "-f", family, "-s", address], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log("ips: conntrack: %s" % exc)


def log(message):
    print("besip-daemon: %s" % message, file=sys.stderr, flush=True)
