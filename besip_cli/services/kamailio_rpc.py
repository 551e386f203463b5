"""Kamailio's JSON-RPC (jsonrpcs over a unix datagram socket): how BESIP reads the running
Kamailio's registrations and dialogs and gives a restarted one its contacts back."""

import json
import os
import socket
import tempfile

from .errors import ServiceError

TIMEOUT = 3.0


def rpc_socket(settings):
    """The JSON-RPC datagram socket operational state is read from."""
    return settings.runtime("kamailio") + "/kamailio_rpc.sock"


def rpc(settings, method, *params):
    """Call METHOD on the running Kamailio; ServiceError if it does not answer."""
    server = rpc_socket(settings)
    request = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1})
    with tempfile.TemporaryDirectory(prefix="besip-rpc-") as tmp:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            client.bind(os.path.join(tmp, "reply"))
            client.settimeout(TIMEOUT)
            client.sendto(request.encode(), server)
            reply = json.loads(client.recv(1 << 20).decode())
        except (OSError, ValueError) as exc:
            raise ServiceError("Kamailio does not answer on %s: %s" % (server, exc))
        finally:
            client.close()
    if "error" in reply:
        raise ServiceError("Kamailio %s: %s" % (method, reply["error"].get("message", reply["error"])))
    return reply.get("result")


def contacts(settings):
    """[(AoR, contact fields as ul.dump gives them)] of the running Kamailio."""
    out = []
    result = rpc(settings, "ul.dump") or {}
    for domain in result.get("Domains", []):
        for aor in domain.get("Domain", {}).get("AoRs", []):
            info = aor.get("Info", {})
            out += [(info.get("AoR", ""), c.get("Contact", {})) for c in info.get("Contacts", [])]
    return out
