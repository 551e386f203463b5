"""Generated files checked by their own tools or strict parsers: `kamailio -c`, a strict
UCI parser (the `uci` program is not packaged for Debian 12), asterisklint for the dial
plan and a strict Asterisk config parser plus semantic checks (Asterisk is not packaged
for Debian 12 either, so these files are never executed here). Hostile values reach every
leaf a template reads: YANG refuses them or the output keeps its structure."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from formats import FormatError, expand_includes, objects, parse_asterisk, parse_uci
from conftest import EXAMPLE

KAMAILIO = shutil.which("kamailio")
ASTERISKLINT = os.path.join(os.path.dirname(sys.executable), "asterisklint")


def files(besip):
    root = os.path.join(besip.directory, "root")
    out = {}
    for base, _, names in os.walk(root):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def check_kamailio(path):
    if not KAMAILIO:
        pytest.skip("kamailio not installed")
    proc = subprocess.run([KAMAILIO, "-c", "-f", path], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr[-3000:]


def check_asterisk(root):
    """Parse every Asterisk file; check that references resolve."""
    etc = os.path.join(root, "etc/asterisk")
    conf = {name: parse_asterisk(expand_includes(open(os.path.join(etc, name)).read(), etc))
            for name in ("pjsip.conf", "extensions.conf", "voicemail.conf", "rtp.conf")}
    pjsip = objects(conf["pjsip.conf"])
    contexts = {name for name, _ in conf["extensions.conf"]}
    mailboxes = {k for name, pairs in conf["voicemail.conf"] if name == "besip" for k, _ in pairs}
    for name, pairs in conf["voicemail.conf"]:
        for key, value in pairs if name == "besip" else ():
            assert len(value.split(",")) == 3 and "|" not in value, value
    for (kind, name), values in pjsip.items():
        assert kind in ("global", "transport", "endpoint", "aor", "auth", "identify", "registration"), name
        if kind == "endpoint":
            assert ("aor", values["aors"]) in pjsip, name
            for key in ("auth", "outbound_auth"):
                if key in values:
                    assert ("auth", values[key]) in pjsip, name
            assert values["context"] in contexts, name
            if "transport" in values:
                assert ("transport", values["transport"]) in pjsip
            for box in values.get("mailboxes", "").split(",") if values.get("mailboxes") else ():
                assert box.split("@")[0] in mailboxes
        if kind in ("identify",):
            assert ("endpoint", values["endpoint"]) in pjsip
        if kind == "registration":
            assert ("auth", values["outbound_auth"]) in pjsip
    for context, pairs in conf["extensions.conf"]:
        for key, value in pairs:
            if key == "include":
                assert value in contexts, (context, value)
            for endpoint in re.findall(r"Dial\(PJSIP/[^@,)]*@([^,)]+)", value):
                assert ("endpoint", endpoint) in pjsip, (context, value)
            for target in re.findall(r"Goto\(([^,]+),", value):
                assert target in contexts
            for box in re.findall(r"VoiceMail\(([0-9]+)@besip", value):
                assert box in mailboxes, value
    proc = subprocess.run([ASTERISKLINT, "dialplan-check", os.path.join(root, "etc/asterisk/extensions.conf")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip(), \
        proc.stdout + proc.stderr
    return conf


def check_uci(root):
    return {name: parse_uci(open(os.path.join(root, "etc/config", name)).read())
            for name in ("system", "network", "besip")}


def test_office_example_renders_valid_files(office):
    root = os.path.join(office.directory, "root")
    check_kamailio(os.path.join(root, "etc/kamailio/kamailio.cfg"))
    uci = check_uci(root)
    system = dict(((t, n), o) for t, n, o in uci["system"])
    assert system[("system", None)]["hostname"] == "office-pbx"
    assert system[("system", None)]["timezone"].startswith("CET-1CEST")
    assert system[("timeserver", "ntp")]["server"] == ["0.openwrt.pool.ntp.org", "1.openwrt.pool.ntp.org"]
    network = dict(((t, n), o) for t, n, o in uci["network"])
    assert network[("interface", "lan")]["dns"] == ["192.0.2.53"]
    conf = check_asterisk(root)
    pjsip = objects(conf["pjsip.conf"])
    assert pjsip[("registration", "trunk-provider1-reg")]["client_uri"] == "sip:4202000@sip.example.net"
    assert pjsip[("auth", "trunk-provider1-auth")]["password"] == "Tr-secret-9"
    routes = [v for c, pairs in conf["extensions.conf"] if c.startswith("besip-route-") for k, v in pairs]
    assert "n,Dial(PJSIP/${EXTEN:1}@trunk-provider1)" in routes
    phones = [v for c, pairs in conf["extensions.conf"] if c == "besip-phones" for k, v in pairs]
    assert phones[2:] == ["besip-route-emergency", "besip-route-national", "besip-route-international"]


@pytest.mark.parametrize("mode", ["proxy", "pbx", "proxy-pbx"])
def test_every_mode_renders_valid_files(besip, mode):
    features = [] if mode == "proxy" else ["pbx extension 100 voicemail",
                                           "pbx extension 101 recording on-demand"]
    besip.config("pbx mode %s" % mode, "pbx sip listen ::1 5070 udp", "pbx sip listen 127.0.0.1 5070 tcp",
                 "pbx extension 100 secret Xk9-strong-1", "pbx extension 101 secret Xk9-strong-2",
                 "pbx extension 101 enabled false", *features,
                 "pbx trunk t1 host 2001:db8::5 register false max-channels 2",
                 "pbx route r1 pattern 9[1-5]X! trunk t1 strip 1 prepend +420",
                 "pbx route r2 pattern 77 extension 100", "commit")
    root = os.path.join(besip.directory, "root")
    if mode != "pbx":
        cfg = os.path.join(root, "etc/kamailio/kamailio.cfg")
        check_kamailio(cfg)
        text = open(cfg).read()
        assert "listen=udp:[::1]:5070" in text and "listen=tcp:127.0.0.1:5070" in text
        assert '$rU =~ "^9[1-5][0-9].*$"' in text
        # the trunk directly in proxy mode; in proxy-pbx mode Asterisk logs in to it
        assert ('$du = "sip:[2001:db8::5]:5060;transport=udp"' in text) == (mode == "proxy")
    if mode != "proxy":
        conf = check_asterisk(root)
        route = [v for c, pairs in conf["extensions.conf"] if c == "besip-route-r1" for _, v in pairs]
        assert route[2] == "n,GotoIf($[${GROUP_COUNT(trunk-t1)} > 2]?busy)", route


def test_smallest_configuration_renders_valid_kamailio(besip):
    besip.config("pbx mode proxy", "pbx extension 100 secret Xk9-strong-1", "commit")
    check_kamailio(os.path.join(besip.directory, "root/etc/kamailio/kamailio.cfg"))


def test_kamailio_never_registers_or_relays_without_authentication(office):
    text = open(os.path.join(office.directory, "root/etc/kamailio/kamailio.cfg")).read()
    registrar = text[text.index("route[REGISTRAR]"):]
    registrar = registrar[:registrar.index("\n}\n")]
    assert registrar.index("auth_check(") < registrar.index('save("location")')
    main = text[text.index("request_route {"):]
    main = main[:main.index("\n}\n")]
    assert main.index("route(AUTH);") < main.index("route(ROUTES);")
    assert main.index("route(AUTH);") < main.index("route(EXTENSION);")


HOSTILE = ["a\nconfig x 'y'", "it's", 'say "hi"', "a;b", "x # y", "[sect]", "${PATH}", "{x}",
           "back\\slash", "Jiří Novák", "tab\there", " lead", "$(rU)", "x' option y 'z", "a,b|c"]

EXT, TRUNK, ROUTE = ("pbx", ("extension", "100")), ("pbx", ("trunk", "t1")), ("pbx", ("route", "r1"))
# (data path of the parent, leaf) for every leaf a template reads.
LEAVES = [(("system",), "hostname"), (("system",), "timezone"), (("system", "ntp"), "server"),
          (("system", "dns"), "search"), (("pbx",), "domain"), (("pbx", "sip"), "user-agent"),
          (EXT, "display-name"), (EXT, "secret"), (EXT + ("voicemail",), "pin"),
          (EXT + ("voicemail",), "email"), (TRUNK, "host"), (TRUNK, "username"), (TRUNK, "secret"),
          (ROUTE, "pattern"), (ROUTE, "prepend")]


def test_hostile_values_never_change_file_structure(office, tmp_path):
    """Each hostile value is refused (by YANG, or at commit with a clear message) or
    accepted and rendered so that every file keeps its lines and parses strictly."""
    from besip_cli.datastore import tree as T
    from besip_cli.datastore.session import DatastoreError, Session
    session = Session(office.directory, user="tester", client="test")
    base = [(EXT, "voicemail"), (ROUTE, None)]
    session.edit(lambda t: (T.ensure(t, session.schema, EXT + ("voicemail",)),
                            T.ensure(t, session.schema, TRUNK), T.ensure(t, session.schema, ROUTE)))
    root = os.path.join(office.directory, "root")
    shape = {path: len(content.split(b"\n")) for path, content in files(office).items()}
    accepted = refused = 0
    for parent, leaf in LEAVES:
        schema_path = tuple(p[0] if isinstance(p, tuple) else p for p in parent) + (leaf,)
        node = session.schema.find(schema_path)
        for value in HOSTILE:
            try:
                session.check_value(node, value)
                session.edit(lambda t: T.set_leaf(t, session.schema, parent, node,
                                                  [value] if node.kind == "leaf-list" else value))
                session.commit("hostile")
            except (ValueError, DatastoreError) as exc:
                assert str(exc).strip(), (leaf, value)
                refused += 1
                session.discard()
                continue
            accepted += 1
            now = files(office)
            assert {p: len(c.split(b"\n")) for p, c in now.items()} == shape, (leaf, value)
            uci = check_uci(root)
            check_asterisk(root)
            check_kamailio(os.path.join(root, "etc/kamailio/kamailio.cfg"))
            if leaf == "hostname":
                assert dict((t, o) for t, _, o in uci["system"])["system"]["hostname"] == value
    session.close()
    assert accepted and refused, (accepted, refused)
