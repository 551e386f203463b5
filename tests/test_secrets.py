"""`$9$` secret tokens: randomised and length-hiding, stable for an unchanged tree, old
tokens still load; portable tokens move between boxes with an export passphrase."""

import base64
import json
import re

from besip_cli.datastore.secrets import Keyring

TOKEN = re.compile(r"\$9\$\S+")


def test_equal_secrets_get_different_tokens_of_one_length(besip):
    besip.config("pbx extension 100 secret Same-pass-1", "pbx extension 101 secret Same-pass-1",
                 "pbx extension 102 secret Much-longer-secret-22", "commit")
    shown = besip.show()
    tokens = TOKEN.findall(shown)
    assert len(tokens) == 3 and len(set(tokens)) == 3          # reuse is not visible
    assert len({len(t) for t in tokens}) == 1                  # nor the length
    assert "Same-pass-1" not in shown
    # nor when each extension is shown on its own (the token is bound to its place)
    alone = [TOKEN.findall(besip.show("show running-config pbx extension %s" % n))[0]
             for n in ("100", "101")]
    assert alone[0] != alone[1] and alone == tokens[:2]
    # the unchanged tree is shown the same again, in this process and another one
    again = besip("show running-config", "show running-config", check=0).stdout
    assert again == shown + shown and besip.show() == shown
    # every token loads back to its secret
    besip.config("pbx extension 103 secret %s" % tokens[2], "commit")
    assert besip.show("show running-config pbx extension 103 | display json").count("$9$") == 1


def test_tokens_of_earlier_builds_still_decrypt(session):
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV
    secret = session.schema.find(("pbx", "extension", "secret"))
    session.concealed({"pbx": {"extension": {"1": {"number": "1", "secret": "warm-up-1"}}}})
    with open(session.keyring.path, "rb") as handle:
        old = AESSIV(handle.read()).encrypt(b"Old-pass-7", None)
    token = "$9$" + base64.urlsafe_b64encode(old).decode().rstrip("=")
    assert session.check_value(secret, token) == "Old-pass-7"


def test_padding_hides_length_up_to_the_bucket(session):
    def token(text):
        tree = {"pbx": {"extension": {"1": {"number": "1", "secret": text}}}}
        return session.keyring.conceal(tree, session.schema)["pbx"]["extension"]["1"]["secret"]
    assert len({len(token("x" * n)) for n in range(0, 32)}) == 1
    assert len(token("x" * 32)) > len(token("x"))


def test_portable_configuration_moves_to_another_box(tmp_path, env):
    from conftest import Besip
    first, second = Besip(tmp_path / "box1", env), Besip(tmp_path / "box2", env)
    first.config("pbx extension 100 secret Moving-pass-1", "commit")
    # without the passphrase a portable export is refused, not written in clear
    proc = first("configure", "save %s portable" % (tmp_path / "p.cfg"), check=1)
    assert "% " in proc.stderr and "BESIP_PASSPHRASE" in proc.stderr
    assert not (tmp_path / "p.cfg").exists()
    secret_env = dict(env, BESIP_PASSPHRASE="correct horse battery")
    first("configure", "save %s portable" % (tmp_path / "p.cfg"), check=0, env=secret_env)
    first("configure", "save %s" % (tmp_path / "box.cfg"), check=0)
    shown = first("show running-config portable", check=0, env=secret_env).stdout
    assert "$9$p$" in shown and "Moving-pass-1" not in shown
    assert shown.startswith("! besip-config-format 2\n")        # an export states its version
    shown_json = first("show running-config portable | display json", check=0, env=secret_env).stdout
    assert json.loads(shown_json)["besip-config-format"] == 2
    assert "$9$p$" in (tmp_path / "p.cfg").read_text()
    # a box-bound token does not load on the second box; a portable one does
    proc = second("configure", "load merge %s" % (tmp_path / "box.cfg"), check=1)
    assert "not encrypted by this box's key" in proc.stderr
    proc = second("configure", "load merge %s" % (tmp_path / "p.cfg"), check=1)
    assert "BESIP_PASSPHRASE" in proc.stderr                  # needs the passphrase
    wrong = dict(env, BESIP_PASSPHRASE="wrong")
    assert "wrong export passphrase" in second(
        "configure", "load merge %s" % (tmp_path / "p.cfg"), check=1, env=wrong).stderr
    second("configure", "load merge %s" % (tmp_path / "p.cfg"), "commit", check=0, env=secret_env)
    # the secret arrived intact: box 2's own token for it decrypts to the same clear text
    token = TOKEN.findall(second.show())[0]
    assert token.startswith("$9$2$")
    from besip_cli.datastore.secrets import Keyring
    assert Keyring(str(tmp_path / "box2")).reveal(token) == "Moving-pass-1"
    # the JSON form and a replayed `show running-config portable` work too
    first("configure", "save %s portable" % (tmp_path / "p.json"), check=0, env=secret_env)
    second("configure", "load merge %s" % (tmp_path / "p.json"), check=0, env=secret_env)
    (tmp_path / "shown.cfg").write_text(shown)
    second("configure", "load merge %s" % (tmp_path / "shown.cfg"), "commit", check=0,
           env=secret_env)
