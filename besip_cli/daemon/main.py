"""besip-daemon: run the daemon (`run`, the default), or ask the running one to reload
(`reload`, the service pipeline's reload command of the IPS)."""

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time

from ..services.errors import ServiceError
from ..services.settings import Settings
from . import control

DEFAULT_DATASTORE = os.path.join(os.path.expanduser("~"), ".local", "share", "besip")
TICK = 1.0          # seconds between calls of the components' tick() (those that have one)


class Daemon:
    """The components and the control socket, served by one selector loop."""

    def __init__(self, directory, components):
        self.settings = Settings(directory)
        self.components = [make(directory, self.settings) for make in components]
        self.control = control_socket(control.path(self.settings))
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.control, selectors.EVENT_READ, self.on_control)
        self.registered = []
        self._register()
        self.commands = {"reload": self.reload}
        for component in self.components:
            for name, function in component.commands().items():
                self.commands["%s.%s" % (component.name, name)] = function

    def reload(self):
        try:
            for component in self.components:
                component.reload()
        finally:
            self._register()

    def _register(self):
        """Serve the sockets the components have now (a reload may open or close some)."""
        for sock in self.registered:
            self.selector.unregister(sock)
        self.registered = []
        for component in self.components:
            for sock, handler in component.sockets():
                self.selector.register(sock, selectors.EVENT_READ, handler)
                self.registered.append(sock)

    def serve(self):
        ticking = [c for c in self.components if hasattr(c, "tick")]
        due = time.monotonic() + TICK
        while True:
            for key, _ in self.selector.select(timeout=max(0.0, due - time.monotonic())):
                key.data()
            if time.monotonic() >= due:
                for component in ticking:
                    component.tick()
                due = time.monotonic() + TICK

    def on_control(self):
        data, client = self.control.recvfrom(65536)
        try:
            request = json.loads(data.decode())
            function = self.commands[request["command"]]
            reply = {"ok": True, "result": function(**request.get("args", {}))}
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"ok": False, "error": "bad request: %s" % exc}
        except Exception as exc:        # a failing command is reported, never ends the daemon
            reply = {"ok": False, "error": str(exc)}
        if client:
            try:
                self.control.sendto(json.dumps(reply).encode(), client)
            except OSError:
                pass                    # the client went away

    def close(self):
        for component in self.components:
            component.close()
        self.control.close()


def control_socket(path):
    """The control socket at PATH, writable by its owner only."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    return sock


def components():
    from ..monitoring.capture import VoiceQuality
    from ..security.ips import Ips
    return [Ips, VoiceQuality]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="besip-daemon", description=__doc__)
    parser.add_argument("--datastore", default=os.environ.get("BESIP_HOME") or DEFAULT_DATASTORE)
    parser.add_argument("action", nargs="?", default="run", choices=("run", "reload"))
    options = parser.parse_args(argv)
    try:
        if options.action == "reload":
            control.request(Settings(options.datastore), "reload")
            return 0
        daemon = Daemon(options.datastore, components())
    except (control.ControlError, ServiceError, OSError) as exc:
        print("besip-daemon: %s" % exc, file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            daemon.reload()
        except Exception as exc:        # serve anyway: the next commit's reload may fix it
            print("besip-daemon: reload: %s" % exc, file=sys.stderr, flush=True)
        print("besip-daemon: ready", file=sys.stderr, flush=True)
        daemon.serve()
    except KeyboardInterrupt:
        pass
    finally:
        daemon.close()
    return 0


def _stop(*_):
    raise KeyboardInterrupt     # SIGTERM ends the loop like Ctrl-C; the kernel's table stays


if __name__ == "__main__":
    sys.exit(main())
