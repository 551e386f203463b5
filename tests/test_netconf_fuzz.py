"""10,000 generated malformed and hostile requests against one running `besip-sshd`: each
gets exactly one <rpc-reply> with its message-id, no session is dropped, no lock is left.
(Some mutations are valid requests, commits among them: the box is this file's own.)"""

import random
import re
import time

import pytest

from netconf_fixtures import box, sshd_process  # noqa: F401
from test_netconf_robustness import BASE, Raw, snapshot

SYS = b"urn:besip:params:xml:ns:yang:besip-system"
PBX = b"urn:besip:params:xml:ns:yang:besip-pbx"
SESSIONS = 5
REQUESTS = 2000               # per session
BATCH = 50                    # requests sent before reading their replies

SEEDS = [
    b"<get-config><source><running/></source></get-config>",
    b"<get-config><source><candidate/></source><filter><system xmlns='%s'><hostname/></system>"
    b"</filter></get-config>" % SYS,
    b"<get><filter type='xpath' select='/system/hostname'/></get>",
    b"<get-config><source><running/></source><filter type='xpath' select='/p:pbx/p:extension"
    b"[p:number=\"101\"]' xmlns:p='%s'/></get-config>" % PBX,
    b"<edit-config><target><candidate/></target><config><system xmlns='%s'><hostname>fz-1"
    b"</hostname></system></config></edit-config>" % SYS,
    b"<edit-config><target><candidate/></target><default-operation>none</default-operation>"
    b"<config><pbx xmlns='%s'><extension operation='create'><number>901</number><secret>"
    b"Fuzz-secret-1</secret></extension></pbx></config></edit-config>" % PBX,
    b"<edit-config><target><candidate/></target><error-option>continue-on-error</error-option>"
    b"<config><pbx xmlns='%s'><extension operation='delete'><number>999</number></extension>"
    b"<rtp><port-min>99999</port-min></rtp></pbx></config></edit-config>" % PBX,
    b"<edit-config><target><running/></target><config/></edit-config>",
    b"<copy-config><target><candidate/></target><source><running/></source></copy-config>",
    b"<validate><source><candidate/></source></validate>",
    b"<lock><target><candidate/></target></lock>",
    b"<lock><target><running/></target></lock>",
    b"<unlock><target><candidate/></target></unlock>",
    b"<discard-changes/>",
    b"<cancel-commit/>",
    b"<kill-session><session-id>4294967296</session-id></kill-session>",
    b"<kill-session><session-id>123456789012345678901234</session-id></kill-session>",
    b"<commit><confirmed/><confirm-timeout>0</confirm-timeout></commit>",
    b"<get-schema xmlns='urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring'>"
    b"<identifier>besip-pbx</identifier></get-schema>",
    b"<delete-config><target><candidate/></target></delete-config>",
]
PIECES = [b"<", b">", b"</", b"/>", b"'", b'"', b"&", b"&amp;", b"&#0;", b"&#xD800;", b"\xff\xfe",
          b"\x00", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?pi?>", b"xmlns:x='urn:x'",
          b" operation='replace'", b" x:operation='delete'", b"<filter type='xpath' select='//*'/>",
          b"<a>" * 400, b"<b>" * 70 + b"</b>" * 70, b"<!DOCTYPE r [<!ENTITY e 'e'>]>",
          b"9" * 40, b"\xc2\xb2", b"\xe2\x82\xac" * 10, b" " * 3000, b"<config>", b"</config>", b"<system/>"]


def mutate(rng, seed):
    """SEED with a few random cuts, insertions, duplications and swaps."""
    data = bytearray(seed)
    for _ in range(rng.randint(1, 4)):
        where = rng.randrange(len(data) + 1)
        kind = rng.random()
        if kind < 0.3:
            del data[where:where + rng.randint(1, 12)]
        elif kind < 0.7:
            data[where:where] = rng.choice(PIECES)
        elif kind < 0.85:
            end = min(len(data), where + rng.randint(1, 40))
            data[where:where] = data[where:end]
        else:
            data[where:where + 1] = bytes([rng.randrange(256)])
    return bytes(data)


def request(rng, number):
    """One framed request with message-id NUMBER (a valid one a quarter of the time), and
    the message-id its reply must carry (None when the <rpc> element itself is mangled)."""
    body = rng.choice(SEEDS)
    if rng.random() < 0.75:
        body = mutate(rng, body)
    message = b'<rpc message-id="%d" xmlns="%s">%s</rpc>' % (number, BASE, body)
    expected = number
    if rng.random() < 0.05:
        message, expected = mutate(rng, message), None
    if b"]]>]]>" in message or b"hello" in message or b"close-session" in message:
        return request(rng, number)         # framing and session ends are tested elsewhere
    return message + b"]]>]]>", expected


def test_ten_thousand_hostile_requests(sshd_process, box):
    port, _log = sshd_process
    rng = random.Random(20261202)
    replies = 0
    start = time.monotonic()
    for session in range(SESSIONS):
        raw = Raw(port)
        try:
            for first in range(0, REQUESTS, BATCH):
                numbers = range(session * REQUESTS + first, session * REQUESTS + first + BATCH)
                batch = [request(rng, n) for n in numbers]
                raw.chan.sendall(b"".join(message for message, _ in batch))
                for message, expected in batch:
                    reply = raw.until(b"]]>]]>")
                    assert reply.startswith(b"<rpc-reply"), reply[:300]
                    mid = re.search(rb'message-id="(\d+)"', reply)
                    assert expected is None or mid is None or int(mid.group(1)) == expected, \
                        (message[:300], reply[:300])
                    replies += 1
            assert b"<data>" in raw.rpc(b"<get-config><source><running/></source></get-config>")
        finally:
            raw.close()                   # abrupt: locks held, candidate edited
        assert time.monotonic() - start < 120
    assert replies == SESSIONS * REQUESTS
    deadline = time.time() + 10
    while snapshot(box)[2] and time.time() < deadline:
        time.sleep(0.1)
    assert not snapshot(box)[2]
