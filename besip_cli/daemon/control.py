"""The daemon's control socket: one JSON datagram request, one JSON datagram reply, on a
unix socket only its owner may write to (the runtime directory's besip/daemon.sock)."""

import json
import os
import socket
import tempfile

TIMEOUT = 10.0


class ControlError(Exception):
    pass


def path(settings):
    return os.path.join(settings.runtime("besip"), "daemon.sock")


def request(settings, command, **args):
    """Send COMMAND (e.g. "reload", "ips.blocked") to the running daemon and return its
    result; ControlError with the daemon's message, or when it does not run."""
    server = path(settings)
    with tempfile.TemporaryDirectory(prefix="besip-ctl-") as tmp:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            client.bind(os.path.join(tmp, "reply"))
            client.settimeout(TIMEOUT)
            client.sendto(json.dumps({"command": command, "args": args}).encode(), server)
            reply = json.loads(client.recv(1 << 20).decode())
        except (OSError, ValueError) as exc:
            raise ControlError("the BESIP daemon does not answer on %s: %s"
                               % (server, getattr(exc, "strerror", None) or exc))
        finally:
            client.close()
    if not reply.get("ok"):
        raise ControlError(reply.get("error", "the BESIP daemon refused %s" % command))
    return reply.get("result")
