"""`besip-sshd`: SSH server of the box. Users and their passwords (crypt hashes) and keys
come from `system user`; the `netconf` subsystem runs a NETCONF session, a `shell`
channel the interactive CLI (when besip_cli.shell.terminal is installed). One thread per
connection; the host key is kept in the data directory."""

import io
import logging
import os
import socket
import sys
import threading

import click
import paramiko

from .. import audit, auth
from ..command_line import program, run
from ..fsutil import write_atomic
from ..datastore.session import Session, default_directory

HOST_KEY = "ssh_host_ecdsa_key"
DEFAULT_PORT = 830

log = logging.getLogger("besip.sshd")


def host_key(directory):
    """The server's key, created on first start (0600)."""
    path = os.path.join(directory, HOST_KEY)
    if not os.path.exists(path):
        text = io.StringIO()
        paramiko.ECDSAKey.generate().write_private_key(text)
        write_atomic(path, text.getvalue(), 0o600, exclusive=True)
    return paramiko.ECDSAKey.from_private_key_file(path)


def configured_port(directory):
    """`system services netconf port` of the running configuration, else 830."""
    ds = Session(directory, user="besip-sshd", client="sshd", watch_pending=False)
    try:
        netconf = ds.running.get("system", {}).get("services", {}).get("netconf", {})
        return int(netconf.get("port", DEFAULT_PORT))
    finally:
        ds.close()


class _Auth(paramiko.ServerInterface):
    """Password and public-key checks against the running configuration's users; each
    refusal is an audit event (a refused key once per connection)."""

    def __init__(self, directory, peer=""):
        self.directory = directory
        self.peer = peer
        self.user = None
        self.refused_keys = set()
        self.channels = {}            # channel id -> ("subsystem", name) or ("shell", term, size)
        self.ready = threading.Event()

    def _running(self):
        ds = Session(self.directory, user="besip-sshd", client="sshd", watch_pending=False)
        try:
            return ds.running
        finally:
            ds.close()

    def get_allowed_auths(self, username):
        return "password,publickey"

    def check_auth_password(self, username, password):
        running = self._running()
        if auth.check_password(running, username, password):
            self.user = username
            return paramiko.AUTH_SUCCESSFUL
        return self._refused(running, username, "bad password")

    def check_auth_publickey(self, username, key):
        running = self._running()
        offered = "%s %s" % (key.get_name(), key.get_base64())
        for line in auth.public_keys(running, username):
            if " ".join(line.split()[:2]) == offered:
                self.user = username
                return paramiko.AUTH_SUCCESSFUL
        if (username, offered) in self.refused_keys:     # paramiko asks again for a signature
            return paramiko.AUTH_FAILED
        self.refused_keys.add((username, offered))
        return self._refused(running, username, "key refused: %s %s" % (key.get_name(),
                                                                         key.fingerprint))

    def _refused(self, running, username, reason):
        if username not in auth.users(running):
            reason = "unknown user (%s)" % reason.split(":")[0]
        audit.login_failed(self.directory, username, "besip-sshd", self.peer, reason)
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else \
            paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel, name):
        if name != "netconf":
            return False
        self.channels[channel.get_id()] = ("netconf",)
        self.ready.set()
        return True

    def check_channel_pty_request(self, channel, term, width, height, pw, ph, modes):
        self.channels.setdefault(("pty", channel.get_id()), (term, (height, width)))
        return _shell_module() is not None

    def check_channel_window_change_request(self, channel, width, height, pw, ph):
        term, _size = self.channels.get(("pty", channel.get_id()), (None, None))
        self.channels[("pty", channel.get_id())] = (term, (height, width))
        return True

    def check_channel_shell_request(self, channel):
        if _shell_module() is None:
            return False
        self.channels[channel.get_id()] = ("shell",)
        self.ready.set()
        return True


def _shell_module():
    """The interactive shell's terminal entry point, if that part is installed."""
    try:
        from ..shell import terminal
    except ImportError:
        return None
    return terminal


class ChannelIO:
    """A paramiko channel as the binary stream pair NETCONF's server reads and writes."""

    def __init__(self, channel):
        self.channel = channel

    def fileno(self):
        return self.channel.fileno()

    def read(self, size):
        return self.channel.recv(size)

    def write(self, data):
        self.channel.sendall(data)

    def flush(self):
        pass


def handle(sock, directory, key, login_timeout=30):
    """Serve one SSH connection: authenticate, then run its first netconf/shell channel."""
    where = _peer(sock)
    transport = paramiko.Transport(sock)
    try:
        transport.add_server_key(key)
        peer = sock.getpeername()[0] if hasattr(sock, "getpeername") else ""
        server = _Auth(directory, peer)
        transport.start_server(server=server)
        channel = transport.accept(login_timeout)
        if channel is None or not server.ready.wait(login_timeout):
            return
        kind = server.channels.get(channel.get_id(), ("",))[0]
        if kind == "netconf":
            from ..netconf.server import NetconfSession
            io = ChannelIO(channel)
            nc = NetconfSession(io, io, server.user, directory, peer)
            nc.abort = transport.close
            nc.run()
        elif kind == "shell":
            pty = ("pty", channel.get_id())
            term = server.channels.get(pty, (None, None))[0]
            _shell_module().run(channel, channel, user=server.user, datastore=directory,
                                term=term, size=lambda: server.channels.get(pty, (0, None))[1],
                                peer=peer)
            channel.send_exit_status(0)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        log.warning("connection from %s ended: %s", where, str(exc) or type(exc).__name__)
    finally:
        transport.close()


def _peer(sock):
    try:
        return "%s port %s" % sock.getpeername()[:2]
    except (OSError, TypeError):
        return "?"


def serve_forever(listener, directory, stop=None):
    """Accept connections on socket LISTENER until STOP (an Event) is set. A connection that
    fails (a port scanner, a client that is not SSH) is logged in one line by `handle`:
    paramiko's own report of it, a traceback, is silenced."""
    logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)
    key = host_key(directory)
    listener.settimeout(0.5)
    while stop is None or not stop.is_set():
        try:
            sock, _addr = listener.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        threading.Thread(target=handle, args=(sock, directory, key), daemon=True).start()


@program("besip-sshd")
@click.option("--listen", default="::", show_default=True, metavar="ADDRESS",
              help="Address to listen on ('::' is every IPv4 and IPv6 address).")
@click.option("--port", type=click.IntRange(1, 65535), metavar="PORT",
              help="TCP port (default: `system services netconf port` of running, else 830).")
def command(datastore, listen, port):
    """SSH server of the box: NETCONF and the interactive shell.

    Logins are the users of `system user`, by password (checked against its crypt hash)
    or by one of its `ssh-key`s; any other name is refused. The `netconf` subsystem runs a
    NETCONF session (base 1.0 and 1.1 framing); a `shell` channel runs the besip shell with
    the user's role; other subsystems and `exec` requests are refused. The host key is
    DIR/ssh_host_ecdsa_key, created on the first start (mode 0600). One thread per
    connection; Ctrl-C stops the server."""
    logging.basicConfig(format="besip-sshd: %(message)s", level=logging.INFO)
    directory = datastore or default_directory()
    port = port or configured_port(directory)
    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((listen, port))
    except OSError as exc:
        sys.stderr.write("besip-sshd: cannot listen on %s port %d: %s\n" % (listen, port, exc.strerror))
        return 2
    listener.listen(64)
    print("besip-sshd listening on %s port %d" % (listen, port), flush=True)
    try:
        serve_forever(listener, directory)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv=None):
    return run(command, argv)


if __name__ == "__main__":
    sys.exit(main())
