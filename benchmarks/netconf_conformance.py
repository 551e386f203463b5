"""The conformance column of netconf_vs_netconfd.py: the same good and bad requests, written
by hand, to both servers over a raw SSH netconf channel (paramiko, base:1.0 framing); a
case passes when the reply is what RFC 6241 (and RFC 6243, RFC 7950 for YANG data) asks
for and the session is still there."""

import re
import xml.etree.ElementTree as ET

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
WD = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
HELLO = ('<hello xmlns="%s"><capabilities><capability>urn:ietf:params:netconf:base:1.0'
         '</capability></capabilities></hello>]]>]]>' % NC)


def rpc(body, mid="1"):
    return '<rpc message-id="%s" xmlns="%s">%s</rpc>' % (mid, NC, body)


def edit(config, default_operation="merge"):
    return rpc("<edit-config><target><candidate/></target><default-operation>%s"
               "</default-operation><config>%s</config></edit-config>" % (default_operation, config))


def get_config(filt, extra=""):
    return rpc("<get-config><source><running/></source>%s%s</get-config>" % (filt, extra))


def tag_is(*tags):
    return lambda root, _text: {e.findtext("{%s}error-tag" % NC) for e in root.iter("{%s}rpc-error" % NC)} \
        == set(tags)


def ok(root, _text):
    return root.find("{%s}ok" % NC) is not None


def declared_path(tag):
    """An error with TAG whose error-path prefixes are all declared in the reply."""
    def check(root, text):
        paths = [e.text or "" for e in root.iter("{%s}error-path" % NC)]
        declared = set(re.findall(r"xmlns:([\w.-]+)=", text))
        return tag_is(tag)(root, text) and paths and all(
            set(re.findall(r"([\w.-]+):", p)) <= declared for p in paths)
    return check


def data_names(*expected):
    """<data> holding exactly the element local names EXPECTED (in document order)."""
    def check(root, _text):
        data = root.find("{%s}data" % NC)
        return data is not None and [e.tag.split("}")[-1] for e in data.iter()][1:] == list(expected)
    return check


def cases(ns):
    top = '<bench xmlns="%s">%%s</bench>' % ns
    entry = "<entry><name>c1</name><value>1</value><note>n</note></entry>"
    return [
        ("good edit-config", [], edit(top % entry), ok),
        ("malformed XML: malformed-message", [], rpc("<get><unclosed></get>"), tag_is("malformed-message")),
        ("no message-id: missing-attribute", [], '<rpc xmlns="%s"><get/></rpc>' % NC,
         tag_is("missing-attribute")),
        ("unknown element, default-operation none: unknown-element", [],
         edit(top % "<bogus/>", "none"), tag_is("unknown-element")),
        ("operation attribute in a foreign namespace: unknown-attribute", [],
         edit(top.replace(">", ' xmlns:f="urn:example:f">', 1) % '<entry f:operation="delete"><name>c1</name>'
              '</entry>'), tag_is("unknown-attribute")),
        ("value out of range: invalid-value, error-path prefixes declared", [],
         edit(top % "<entry><name>c2</name><value>99999999999</value></entry>"), declared_path("invalid-value")),
        ("delete of a missing entry: data-missing", [],
         edit(top % '<entry xmlns:nc="%s" nc:operation="delete"><name>none</name></entry>' % NC),
         tag_is("data-missing")),
        ("create of an existing entry: data-exists", [rpc("<commit/>")],
         edit(top % '<entry xmlns:nc="%s" nc:operation="create"><name>c1</name></entry>' % NC),
         tag_is("data-exists")),
        ("subtree filter, two sibling selectors: both, in one entry", [],
         get_config('<filter><bench xmlns="%s"><entry><name>c1</name><value/></entry><entry><name>c1'
                    '</name><note/></entry></bench></filter>' % ns),
         data_names("bench", "entry", "name", "value", "note")),
        ("subtree filter with report-all: still filtered", [],
         get_config('<filter><bench xmlns="%s"><entry><name>c1</name><note/></entry></bench></filter>' % ns,
                    '<with-defaults xmlns="%s">report-all</with-defaults>' % WD),
         data_names("bench", "entry", "name", "note")),
        ("XPath filter: innermost prefix binding", [],
         get_config('<filter xmlns:x="%s" type="xpath" select="/x:bench/x:entry/x:note"/>' % ns)
         .replace("<rpc ", '<rpc xmlns:x="urn:example:wrong" ', 1),
         data_names("bench", "entry", "name", "note")),
        ("filter nested 400 levels: <data> or an rpc-error", [],
         get_config("<filter>%s%s</filter>" % ("<a>" * 400, "</a>" * 400)),
         lambda root, _t: root.find("{%s}rpc-error" % NC) is not None or root.find("{%s}data" % NC) is not None),
        ("second lock by the holder: lock-denied", [rpc("<lock><target><candidate/></target></lock>")],
         rpc("<lock><target><candidate/></target></lock>"), tag_is("lock-denied")),
        ("unlock of a lock not held: operation-failed",
         [rpc("<unlock><target><candidate/></target></unlock>")],
         rpc("<unlock><target><candidate/></target></unlock>"), tag_is("operation-failed")),
        ("kill-session of itself: invalid-value", [], None, tag_is("invalid-value")),
        ("clean up: delete the entry, commit", [edit(top % '<entry xmlns:nc="%s" nc:operation="delete">'
                                                    '<name>c1</name></entry>' % NC)],
         rpc("<commit/>"), ok),
    ]


class Channel:
    """A raw netconf subsystem channel, logged in as root with KEY."""

    def __init__(self, port, key):
        import paramiko
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect("127.0.0.1", port, "root", key_filename=key, look_for_keys=False,
                            allow_agent=False)
        self.chan = self.client.get_transport().open_session()
        self.chan.invoke_subsystem("netconf")
        self.chan.settimeout(30)
        self.buffer = b""
        hello = self.read()
        self.session_id = re.search(rb"<session-id>(\d+)</session-id>", hello).group(1).decode()
        self.chan.sendall(HELLO.encode())

    def read(self):
        while b"]]>]]>" not in self.buffer:
            data = self.chan.recv(65536)
            if not data:
                raise EOFError
            self.buffer += data
        message, _, self.buffer = self.buffer.partition(b"]]>]]>")
        return message

    def ask(self, message):
        self.chan.sendall(message.encode() + b"]]>]]>")
        return self.read().decode("utf-8", "replace")

    def close(self):
        self.client.close()


def run(port, key, ns):
    """{case label: passed} for the server on PORT; a dropped session fails its case (and
    the next case starts a new session)."""
    results = {}
    channel = None
    for label, setup, message, check in cases(ns):
        try:
            channel = channel or Channel(port, key)
            for before in setup:
                channel.ask(before)
            if message is None:             # kill-session of itself needs the session-id
                message = rpc("<kill-session><session-id>%s</session-id></kill-session>" % channel.session_id)
            text = channel.ask(message)
            passed = bool(check(ET.fromstring(text.lstrip()), text))
            channel.ask(rpc("<get-config><source><running/></source></get-config>"))   # still there?
        except (EOFError, OSError, ET.ParseError):
            passed = False
            if channel:
                channel.close()
            channel = None
        results[label] = passed
    if channel:
        channel.close()
    return results
