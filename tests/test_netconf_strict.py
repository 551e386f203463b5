"""Strict where RFC 6241 and RFC 7950 are strict, checked with hand-written requests over
the built-in SSH server: edit-config refuses what it does not know, filters select what
they say, and errors carry a path with declared prefixes and the offending entry's keys."""

import re
import xml.etree.ElementTree as ET

import pytest

from netconf_fixtures import box, sshd  # noqa: F401
from test_netconf_robustness import Raw

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
SYS = b"urn:besip:params:xml:ns:yang:besip-system"
PBX = b"urn:besip:params:xml:ns:yang:besip-pbx"
REPORT_ALL = (b"<with-defaults xmlns='urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults'>"
              b"report-all</with-defaults>")


@pytest.fixture
def raw(sshd):
    raw = Raw(sshd)
    yield raw
    assert b"<ok/>" in raw.rpc(b"<discard-changes/>")
    raw.close()


def edit(raw, config, default_operation=b"merge"):
    return raw.rpc(b"<edit-config><target><candidate/></target><default-operation>%s"
                   b"</default-operation><config>%s</config></edit-config>" % (default_operation, config))


def errors(reply):
    """[(tag, path, message, {error-info child: text}, app-tag)] of a reply; every prefix of
    an error-path must be declared in the reply."""
    root = ET.fromstring(reply)
    out = []
    for err in root.iter("{%s}rpc-error" % NC):
        path = err.findtext("{%s}error-path" % NC)
        if path:
            declared = set(re.findall(rb'xmlns:([\w.-]+)=', reply))
            assert set(re.findall(r"([\w.-]+):", path)) <= {p.decode() for p in declared}, path
        info = err.find("{%s}error-info" % NC)
        out.append((err.findtext("{%s}error-tag" % NC), path, err.findtext("{%s}error-message" % NC),
                    {c.tag.split("}")[1]: c.text for c in (info if info is not None else [])},
                    err.findtext("{%s}error-app-tag" % NC)))
    return out


def get_config(raw, filt, source=b"running", extra=b""):
    reply = raw.rpc(b"<get-config><source><%s/></source><filter>%s</filter>%s</get-config>"
                    % (source, filt, extra))
    return ET.fromstring(reply).find("{%s}data" % NC)


def test_unknown_elements_refused_with_default_operation_none(raw):
    config = (b"<pbx xmlns='%s'><extension><number>999</number><bogus/></extension></pbx>" % PBX)
    [(tag, path, _msg, info, _app)] = errors(edit(raw, config, b"none"))
    assert tag == "unknown-element" and info == {"bad-element": "bogus"}
    assert path == "/bpbx:pbx/bpbx:extension[bpbx:number='999']/bogus"


def test_operation_attribute_namespaces(raw):
    foreign = (b"<system xmlns='%s' xmlns:f='urn:example:foreign'><timezone f:operation='delete'/>"
               b"</system>" % SYS)
    [(tag, _path, _msg, info, _app)] = errors(edit(raw, foreign))
    assert tag == "unknown-attribute" and info == {"bad-attribute": "operation", "bad-element": "timezone"}
    assert b"<ok/>" in edit(raw, b"<system xmlns='%s'><timezone operation='delete'/></system>" % SYS)
    assert not len(get_config(raw, b"<system xmlns='%s'><timezone/></system>" % SYS, b"candidate"))


def test_subtree_filter_selectors_are_a_union(raw):
    data = get_config(raw, b"<system xmlns='%s'><hostname/></system><system xmlns='%s'><timezone/>"
                      b"</system>" % (SYS, SYS))
    assert [c.tag.split("}")[1] for c in data[0]] == ["hostname", "timezone"]
    data = get_config(raw, b"<pbx xmlns='%s'><extension><number>101</number><display-name/>"
                      b"</extension><extension><number>101</number><recording/></extension>"
                      b"<extension><number>102</number><display-name/></extension></pbx>" % PBX)
    entries = {e.findtext("{%s}number" % PBX.decode()): sorted(c.tag.split("}")[1] for c in e)
               for e in data[0]}
    assert entries == {"101": ["display-name", "number", "recording"],
                       "102": ["display-name", "number"]}
    data = get_config(raw, b"<pbx xmlns='%s'><rtp><port-min/></rtp></pbx>" % PBX, extra=REPORT_ALL)
    assert [c.tag.split("}")[1] for c in data.iter()] == ["data", "pbx", "rtp", "port-min"]


def test_innermost_namespace_binding_wins(raw):
    for outer, inner, found in ((b"urn:example:wrong", SYS, True), (SYS, b"urn:example:wrong", False)):
        reply = raw.rpc(b"<get-config xmlns:x='%s'><source><running/></source><filter xmlns:x='%s' "
                        b"type='xpath' select='/x:system/x:hostname'/></get-config>" % (outer, inner))
        assert (b"<hostname>" in reply) is found, reply


def test_range_and_oversized_values(raw):
    [(tag, path, message, _info, _app)] = errors(edit(
        raw, b"<pbx xmlns='%s'><rtp><port-min>80</port-min></rtp></pbx>" % PBX))
    assert tag == "invalid-value" and path == "/bpbx:pbx/bpbx:rtp/bpbx:port-min"
    assert "Allowed range: 1024..65534." in message, message
    reply = edit(raw, b"<system xmlns='%s'><hostname>%s</hostname></system>" % (SYS, b"h" * 100000))
    [(tag, _path, message, _info, _app)] = errors(reply)
    assert tag == "invalid-value" and len(reply) < 2000 and "(100000 characters)" in message


def test_every_violation_names_its_entry(raw):
    new = b"".join(b"<extension><number>%d</number></extension>" % n for n in (777, 778))
    assert b"<ok/>" in edit(raw, b"<pbx xmlns='%s'>%s</pbx>" % (PBX, new))
    for operation in (b"<validate><source><candidate/></source></validate>", b"<commit/>"):
        found = sorted(errors(raw.rpc(operation)), key=lambda error: error[1])
        assert [(tag, path, info) for tag, path, _m, info, _a in found] == [
            ("operation-failed", "/bpbx:pbx/bpbx:extension[bpbx:number='%d']/bpbx:secret" % n,
             {"bad-element": "secret"}) for n in (777, 778)], found
        assert [m for _t, _p, m, _i, _a in found] == [
            'pbx extension %d: Mandatory node "secret" instance does not exist.' % n for n in (777, 778)]


def test_validation_errors_have_declared_paths_and_rfc7950_app_tags(raw):
    config = (b"<pbx xmlns='%s'><rtp><port-min>30000</port-min></rtp><route><name>dup</name>"
              b"<pattern>112</pattern><priority>1</priority><trunk>nosuch</trunk></route></pbx>" % PBX)
    assert b"<ok/>" in edit(raw, config)
    reply = raw.rpc(b"<validate><source><candidate/></source></validate>")
    found = {app: (path, info) for _tag, path, _m, info, app in errors(reply)}
    assert found == {
        "data-not-unique": ("/bpbx:pbx/bpbx:route[bpbx:name='emergency']",
                            {"non-unique": "/bpbx:pbx/bpbx:route[bpbx:name='emergency']/bpbx:priority"}),
        "instance-required": ("/bpbx:pbx/bpbx:route[bpbx:name='dup']/bpbx:trunk", {}),
        "must-violation": ("/bpbx:pbx/bpbx:rtp", {})}, found
    assert reply.count(b"<non-unique>") == 0 and reply.count(b":non-unique>/bpbx:") == 2
    assert b'="urn:ietf:params:xml:ns:yang:1"' in reply
