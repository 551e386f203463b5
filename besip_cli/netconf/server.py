"""One NETCONF session over a pair of binary streams: hello, RPC loop, session end.

Every transport (the stdio subsystem, the built-in SSH server) calls `serve`. The
datastore session is closed however the NETCONF session ends, so its locks die with it,
and a confirmed commit it made without `persist` is rolled back (RFC 6241 8.4.1).
Every request gets a reply: an unexpected exception becomes an operation-failed (its
traceback goes to the log), never a dropped session.
"""

import ctypes
import gc
import logging
import threading
import xml.etree.ElementTree as ET

from .. import audit
from ..datastore.session import Session
from . import monitoring, ops
from .errors import RpcError, RpcErrors
from .framing import FramingError, Framer
from .xmlutil import BASE_NS, parse, split

HELLO_TIMEOUT = 60.0          # seconds a new client has to send its hello
MESSAGE_TIMEOUT = 60.0        # seconds of silence allowed in the middle of a message
BASE11 = "urn:ietf:params:netconf:base:1.1"
BIG_MESSAGE = 1 << 20         # bytes; after such a message the freed memory goes back to the OS

log = logging.getLogger("besip.netconf")

_live = {}                    # datastore session id -> NetconfSession of this process
_live_lock = threading.Lock()


class SessionEnd(Exception):
    """close-session, kill-session or a transport failure: leave the RPC loop."""


class NetconfSession:
    def __init__(self, infile, outfile, user, datastore, peer="", hello_timeout=HELLO_TIMEOUT,
                 message_timeout=MESSAGE_TIMEOUT, local=False):
        self.framer = Framer(infile, outfile, message_timeout=message_timeout)
        self.write_lock = threading.Lock()
        self.hello_timeout = hello_timeout
        self.ds = Session(datastore, user=user, client="netconf", peer=peer)
        self.id = self.ds.id
        self.user = user
        self.local = local            # this process's own user (besip-netconf), not a remote login
        self.capabilities = monitoring.capabilities(self.ds)
        self.subscription = None
        self.closed = threading.Event()
        self.abort = None             # set by the transport: drops the connection

    def send(self, text):
        with self.write_lock:
            if not self.closed.is_set():
                self.framer.write(text.encode("utf-8"))

    # ---------------------------------------------------------------- session

    def run(self):
        with _live_lock:
            _live[self.id] = self
        try:
            self._hello()
            audit.login(self.ds, ops.user_role(self), "netconf")
            while not self.closed.is_set():
                try:
                    message = self.framer.read()
                except FramingError as exc:
                    self._reply_error({}, RpcError("malformed-message", "broken framing: %s" % exc, type="rpc"))
                    break
                self.handle(message)
                if len(message) > BIG_MESSAGE:
                    message = None          # the request's objects are gone now
                    _return_memory()
        except (EOFError, OSError, SessionEnd):
            pass
        except Exception:                   # a bug outside any request: end cleanly, logged
            log.exception("session %d (%s): internal error", self.id, self.user)
        finally:
            self.end()

    def _hello(self):
        caps = "".join("<capability>%s</capability>" % _esc(c) for c in self.capabilities)
        self.send('<?xml version="1.0" encoding="UTF-8"?><hello xmlns="%s"><capabilities>%s'
                  '</capabilities><session-id>%d</session-id></hello>' % (BASE_NS, caps, self.id))
        self.framer.idle_timeout = self.hello_timeout
        try:
            root, _scopes = parse(self.framer.read())
        except (RpcError, FramingError):
            raise SessionEnd
        self.framer.idle_timeout = None
        if root is None or root.tag != "{%s}hello" % BASE_NS or root.find("{%s}session-id" % BASE_NS) is not None:
            raise SessionEnd
        theirs = [(c.text or "").strip() for c in root.iter("{%s}capability" % BASE_NS)]
        if not any(c.startswith("urn:ietf:params:netconf:base:1.") for c in theirs):
            raise SessionEnd
        self.framer.chunked = BASE11 in theirs

    def end(self):
        """Release everything this session holds; safe to call twice."""
        if self.closed.is_set():
            return
        self.closed.set()
        with _live_lock:
            _live.pop(self.id, None)
        if self.subscription:
            self.subscription.stop()
        try:
            pending = self.ds.pending()
            if pending and pending.session == self.id and not pending.persist:
                self.ds.revert_pending(cancelled=True)
        except Exception:      # the session must end whatever the datastore says
            pass
        self.ds.close()

    # ---------------------------------------------------------------- RPCs

    def handle(self, message):
        attrs = {}
        try:
            root, scopes = parse(message)
            attrs = {k: v for k, v in root.attrib.items() if not k.startswith("{")}
            op = self._operation(root, attrs)
            body = ops.dispatch(self, op, scopes)
        except RpcErrors as exc:
            return self._reply_errors(attrs, exc.errors)
        except RpcError as exc:
            return self._reply_error(attrs, exc)
        except SessionEnd:
            raise
        except Exception as exc:            # a bug: the client still gets its reply
            log.exception("session %d (%s): internal error", self.id, self.user)
            return self._reply_error(attrs, RpcError(
                "operation-failed", "internal error (%s), logged by the server" % type(exc).__name__))
        self._reply(attrs, "<ok/>" if body is None else body)
        if split(op.tag) == (BASE_NS, "close-session"):
            raise SessionEnd

    def _operation(self, root, attrs):
        """The operation element of message ROOT (an <rpc> with ATTRS), else an RpcError."""
        if root.tag == "{%s}hello" % BASE_NS:     # as netconfd: a second hello ends the session
            log.warning("session %d (%s): a second <hello>, session closed", self.id, self.user)
            raise SessionEnd
        if root.tag != "{%s}rpc" % BASE_NS:
            ns, name = split(root.tag)
            message = "expected <rpc> in %s, got <%s>" % (BASE_NS, name)
            if name == "rpc":
                raise RpcError("unknown-namespace", message, type="rpc",
                               info={"bad-element": name, "bad-namespace": ns or ""})
            raise RpcError("malformed-message", message, type="rpc", info={"bad-element": name})
        if "message-id" not in attrs:
            raise RpcError("missing-attribute", "<rpc> needs a message-id", type="rpc",
                           info={"bad-attribute": "message-id", "bad-element": "rpc"})
        if len(root) != 1:
            raise RpcError("malformed-message", "<rpc> must hold exactly one operation", type="rpc")
        return root[0]

    def _reply(self, attrs, body):
        head = "".join(' %s="%s"' % (k, _esc(v).replace('"', "&quot;")) for k, v in attrs.items())
        self.send('<rpc-reply xmlns="%s"%s>%s</rpc-reply>' % (BASE_NS, head, body))

    def _reply_error(self, attrs, error):
        self._reply_errors(attrs, [error])

    def _reply_errors(self, attrs, errors):
        elements = [e.element() for e in errors]
        for error, element in zip(errors, elements):
            if error.path:            # declare the prefixes the error-path uses
                for module in self.ds.schema.modules:
                    element.set("xmlns:%s" % module["prefix"], module["namespace"])
        self._reply(attrs, "".join(ET.tostring(e, encoding="unicode") for e in elements))

    def kill(self):
        """Ended by another session's kill-session (which released its locks): drop the
        connection; this session's own thread then ends it."""
        if self.abort:
            self.abort()


def _return_memory():
    """Give the memory a big message took back to the operating system (glibc keeps freed
    blocks of its heap otherwise: the resident size would stay at the peak)."""
    gc.collect()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)     # glibc only (not musl)
    if trim is not None:
        trim(0)


def live_session(session_id):
    with _live_lock:
        return _live.get(session_id)


def _esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def serve(infile, outfile, *, user, datastore, peer="", hello_timeout=HELLO_TIMEOUT,
          message_timeout=MESSAGE_TIMEOUT, local=False):
    """Run one NETCONF session on binary streams INFILE/OUTFILE until it ends. A client
    silent before its hello, or in the middle of a message, is disconnected. LOCAL: the
    session is this process's own user's, who gets the console-owner rule (auth.py)."""
    NetconfSession(infile, outfile, user, datastore, peer, hello_timeout, message_timeout, local).run()
