"""The NETCONF operations (RFC 6241 section 7, RFC 6022 get-schema, RFC 5277), each on the
session's datastore client; NACM subset: only admins may change anything."""

import os
import re
import signal
import xml.etree.ElementTree as ET

from .. import audit, auth
from ..auth import WRITE_ROLES
from ..datastore import codec
from ..datastore.secrets import SecretError
from ..datastore.session import DatastoreError
from ..datastore.store import StoreError
from ..datastore.tree import EditError, format_path
from ..datastore.validate import validate as validate_tree
from .. import services
from . import defaults, filters, monitoring, notifications
from .edit import Editor
from .errors import RpcError, RpcErrors
from .xmlutil import BASE_NS, instance_id, qn, split, text

WD_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
YANG_NS = "urn:ietf:params:xml:ns:yang:1"          # RFC 7950's error-info elements
WRITES = ("edit-config", "copy-config", "delete-config", "lock", "unlock", "commit",
          "discard-changes", "cancel-commit", "kill-session")


def dispatch(nc, op, scopes):
    """Run operation element OP; returns the reply body text, or None for <ok/>."""
    ns, name = split(op.tag)
    handler = _HANDLERS.get((ns, name))
    if handler is None:
        raise RpcError("operation-not-supported", "unknown operation %s%s"
                       % (name, " in %s" % ns if ns else ""), type="protocol",
                       info={"bad-element": name})
    try:
        nc.ds.refresh()
        if name != "close-session":
            _authorize(nc, name)
        return handler(nc, op, scopes)
    except DatastoreError as exc:
        raise _from_datastore(nc, exc)
    except StoreError as exc:          # a full or read-only data directory, damage
        raise RpcError(exc.tag, str(exc))
    except SecretError as exc:         # a damaged or uncreatable secrets key
        raise RpcError("operation-failed", str(exc))
    except EditError as exc:
        raise RpcError(exc.tag, str(exc), path=instance_id(nc.ds.schema, exc.path or ()))


def user_role(nc):
    """The role of NETCONF session NC's user (a local besip-netconf: the console rule)."""
    return auth.process_role(nc.ds) if nc.local else nc.ds.role


def _authorize(nc, name):
    role = user_role(nc)
    if role is None:
        raise RpcError("access-denied", "user %s may not use this box" % nc.user)
    if name in WRITES and role not in WRITE_ROLES:
        raise RpcError("access-denied", "%s: user %s has role %s, which may not change the "
                       "configuration" % (name, nc.user, role))


def _from_datastore(nc, exc):
    if exc.problems:
        return RpcErrors([_problem(nc.ds.schema, p) for p in exc.problems])
    info = {"session-id": exc.info["session-id"]} if "session-id" in exc.info else None
    if exc.tag in ("lock-denied", "in-use") and info is None:
        info = {"session-id": 0}
    return RpcError(exc.tag, str(exc), info=info)


def _child(op, name):
    return op.find(qn(name))


def _datastore_name(op, field, allowed):
    elem = _child(op, field)
    if elem is None or len(elem) != 1:
        raise RpcError("missing-element", "%s needs a <%s> datastore" % (split(op.tag)[1], field),
                       info={"bad-element": field})
    ns, name = split(elem[0].tag)
    if ns == BASE_NS and name in allowed:
        return name, elem[0]
    if ns == BASE_NS and name in ("running", "candidate", "startup", "url", "config"):
        raise RpcError("operation-not-supported", "%s %s is not supported here" % (field, name),
                       type="protocol", info={"bad-element": name})
    raise RpcError("bad-element", "unknown datastore %s" % name, type="protocol",
                   info={"bad-element": field})


# ---------------------------------------------------------------- reading

def _data_reply(nc, tree, op, scopes, state=False):
    mode = text(op.find("{%s}with-defaults" % WD_NS)) or "explicit"
    if mode not in defaults.MODES:
        raise RpcError("invalid-value", "with-defaults %s is not supported (%s)"
                       % (mode, ", ".join(defaults.MODES)), info={"bad-element": "with-defaults"})
    filt = _child(op, "filter")
    whole = filters.whole_roots(filt, nc.ds.schema)
    if whole is not None:                  # only whole top-level nodes: no filtering needed
        tree = {name: tree[name] for name in whole if name in tree}
        filt, state = None, False
    tree = defaults.apply(mode, tree, nc.ds.schema)
    if filt is None and not state:
        return "<data>%s</data>" % codec.to_xml_text(tree, nc.ds.schema, nc.ds.concealer())
    data = ET.Element("data")
    codec.to_xml(tree, nc.ds.schema, data, nc.ds.concealer())
    if state:
        monitoring.state(nc.ds, data, nc.capabilities, nc.ds.store.sessions())
    if filt is not None:
        data = ET.fromstring(ET.tostring(data))
        kind = filt.get("type", "subtree")
        if kind == "subtree":
            data = filters.subtree(data, filt, nc.ds.schema)
        elif kind == "xpath":
            if not filt.get("select"):
                raise RpcError("missing-attribute", "an xpath filter needs a select attribute",
                               info={"bad-attribute": "select", "bad-element": "filter"})
            data = filters.xpath(data, filt.get("select"), scopes.get(filt, {}), nc.ds.schema)
        else:
            raise RpcError("bad-attribute", "filter type %s is not subtree or xpath" % kind,
                           info={"bad-attribute": "type", "bad-element": "filter"})
        for top in data:
            _default_namespaces(top, None)
    return ET.tostring(data, encoding="unicode")


def _default_namespaces(elem, parent_ns):
    """Write ELEM's subtree with xmlns= declarations instead of generated prefixes."""
    ns, elem.tag = split(elem.tag)
    if ns != parent_ns:
        elem.set("xmlns", ns)
    for child in elem:
        _default_namespaces(child, ns)


def get_config(nc, op, scopes):
    source, _ = _datastore_name(op, "source", ("running", "candidate"))
    return _data_reply(nc, getattr(nc.ds, source), op, scopes)


def get(nc, op, scopes):
    """Running plus the `config false` data of the services' state hooks (a program that
    does not answer reports nothing) and the NETCONF monitoring state."""
    tree = services.merged(nc.ds.running, services.operational_state(nc.ds.directory))
    return _data_reply(nc, tree, op, scopes, state=True)


def get_schema(nc, op, _scopes):
    data = ET.Element("data", {"xmlns": monitoring.MON_NS})
    data.text = monitoring.get_schema(nc.ds, op)
    return ET.tostring(data, encoding="unicode")


# ---------------------------------------------------------------- writing

def edit_config(nc, op, _scopes):
    _datastore_name(op, "target", ("candidate",))
    default_op = text(_child(op, "default-operation")) or "merge"
    if default_op not in ("merge", "replace", "none"):
        raise RpcError("invalid-value", "default-operation %s" % default_op,
                       info={"bad-element": "default-operation"})
    test_option = text(_child(op, "test-option")) or "test-then-set"
    if test_option not in ("test-then-set", "set", "test-only"):
        raise RpcError("invalid-value", "test-option %s" % test_option, info={"bad-element": "test-option"})
    error_option = text(_child(op, "error-option")) or "stop-on-error"
    if error_option not in ("stop-on-error", "continue-on-error", "rollback-on-error"):
        raise RpcError("invalid-value", "error-option %s" % error_option,
                       info={"bad-element": "error-option"})
    config = _child(op, "config")
    if config is None:
        raise RpcError("missing-element", "edit-config needs <config>", info={"bad-element": "config"})
    editor = Editor(nc.ds, keep_going=error_option == "continue-on-error")

    def change(tree):
        if default_op == "replace":
            tree.clear()
        editor.apply(tree, list(config), "merge" if default_op == "replace" else default_op)
        if test_option == "test-only":
            _raise_problems(nc.ds.schema, validate_tree(nc.ds.schema, nc.ds.engine, nc.ds.running, tree))
            raise _TestOnly
    try:
        nc.ds.edit(change)
    except _TestOnly:
        pass
    if editor.errors:
        raise RpcErrors(editor.errors)


class _TestOnly(Exception):
    """Leaves the candidate untouched after a successful test-only edit."""


def _raise_problems(schema, problems):
    if problems:
        raise RpcErrors([_problem(schema, p) for p in problems])


_MANDATORY = re.compile(r'^Mandatory node "([\w.-]+)" instance does not exist')


def _problem(schema, problem):
    """The rpc-error of a validation problem: the error-path is written with our declared
    prefixes; a missing mandatory leaf is named in the path and in bad-element, and the
    entry it lies in in the message (libyang names only the schema node); a `unique`
    violation lists the equal leaves as non-unique (RFC 7950 15.1)."""
    path, info, message = problem.path, {}, problem.message
    missing = _MANDATORY.match(message)
    if missing:
        path, info["bad-element"] = path + (missing.group(1),), missing.group(1)
        message = "%s: %s" % (format_path(problem.path), message)
    if problem.non_unique:
        info["{%s}non-unique" % YANG_NS] = [instance_id(schema, leaf) for leaf in problem.non_unique]
    return RpcError("operation-failed", message, path=instance_id(schema, path) if path else problem.xpath,
                    app_tag=problem.app_tag, info=info)


def _source_tree(nc, op):
    name, elem = _datastore_name(op, "source", ("running", "candidate", "config"))
    if name != "config":
        return getattr(nc.ds, name)
    tree = {}
    Editor(nc.ds).apply(tree, list(elem), "merge")
    return tree


def copy_config(nc, op, _scopes):
    _datastore_name(op, "target", ("candidate",))
    nc.ds.replace_candidate(_source_tree(nc, op))


def delete_config(nc, op, _scopes):
    name, _ = _datastore_name(op, "target", ("running", "candidate"))
    raise RpcError("operation-failed", "the %s datastore cannot be deleted (no startup datastore here)"
                   % name, info={"bad-element": name})


def validate(nc, op, _scopes):
    tree = _source_tree(nc, op)
    _raise_problems(nc.ds.schema, validate_tree(nc.ds.schema, nc.ds.engine, nc.ds.running, tree))


def lock(nc, op, _scopes):
    name, _ = _datastore_name(op, "target", ("running", "candidate"))
    nc.ds.lock(name)


def unlock(nc, op, _scopes):
    name, _ = _datastore_name(op, "target", ("running", "candidate"))
    nc.ds.unlock(name)


def discard_changes(nc, _op, _scopes):
    nc.ds.discard()


def commit(nc, op, _scopes):
    confirmed = _child(op, "confirmed") is not None
    timeout = _uint32(text(_child(op, "confirm-timeout")) or "600")
    if not timeout:
        raise RpcError("invalid-value", "confirm-timeout must be 1..4294967295 seconds",
                       info={"bad-element": "confirm-timeout"})
    persist = text(_child(op, "persist")) or None
    persist_id = text(_child(op, "persist-id")) or None
    nc.ds.commit(confirmed=timeout if confirmed else None, persist=persist,
                 persist_id=persist_id)


def cancel_commit(nc, op, _scopes):
    persist_id = text(_child(op, "persist-id")) or None
    pending = nc.ds.pending()
    if not pending:
        raise RpcError("operation-failed", "no confirmed commit is pending")
    if pending.persist and persist_id != pending.persist:
        raise RpcError("invalid-value", "the pending confirmed commit needs its persist-id",
                       info={"bad-element": "persist-id"})
    if not pending.persist and pending.session != nc.id:
        raise RpcError("in-use", "the pending confirmed commit belongs to session %d" % pending.session,
                       info={"session-id": pending.session})
    nc.ds.revert_pending(cancelled=True)


# ---------------------------------------------------------------- sessions

def close_session(_nc, _op, _scopes):
    return None


def kill_session(nc, op, _scopes):
    from .server import live_session
    target = text(_child(op, "session-id"))
    if not target:
        raise RpcError("missing-element", "kill-session needs a session-id",
                       info={"bad-element": "session-id"})
    sid = _uint32(target)
    if not sid:
        raise RpcError("invalid-value", "session-id must be 1..4294967295",
                       info={"bad-element": "session-id"})
    if sid == nc.id:
        raise RpcError("invalid-value", "a session cannot kill itself; use close-session",
                       info={"bad-element": "session-id"})
    row = nc.ds.store.session_info(sid)
    if row is None:
        raise RpcError("invalid-value", "no session %d" % sid, info={"bad-element": "session-id"})
    pending = nc.ds.pending()
    if pending and pending.session == sid and not pending.persist:
        nc.ds.revert_pending(cancelled=True)
    other = live_session(sid)
    alone = [r for r in nc.ds.store.sessions() if r[3] == row[3]] == [row]
    if other is not None:
        other.kill()
    elif row[3] != os.getpid() and row[2] == "netconf" and alone:
        try:
            os.kill(row[3], signal.SIGTERM)
        except OSError:
            pass
    audit.killed(nc.ds, row, [lock[0] for lock in nc.ds.store.locks() if lock[1] == sid])
    nc.ds.store.close_session(sid)      # its locks die with it


def _uint32(digits):
    """The value of DIGITS as a uint32 (the type of session-id and confirm-timeout), or 0."""
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
        return 0
    return int(digits) if int(digits) < 1 << 32 else 0


def create_subscription(nc, op, _scopes):
    notifications.subscribe(nc, op)


_HANDLERS = {
    (BASE_NS, "get"): get, (BASE_NS, "get-config"): get_config,
    (BASE_NS, "edit-config"): edit_config, (BASE_NS, "copy-config"): copy_config,
    (BASE_NS, "delete-config"): delete_config, (BASE_NS, "validate"): validate,
    (BASE_NS, "lock"): lock, (BASE_NS, "unlock"): unlock,
    (BASE_NS, "discard-changes"): discard_changes, (BASE_NS, "commit"): commit,
    (BASE_NS, "cancel-commit"): cancel_commit, (BASE_NS, "close-session"): close_session,
    (BASE_NS, "kill-session"): kill_session,
    (monitoring.MON_NS, "get-schema"): get_schema,
    (notifications.NS, "create-subscription"): create_subscription,
}
