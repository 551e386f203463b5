"""The schema is compiled by pyang once and then read from a cache keyed by content."""

import glob
import os
import shutil

from besip_cli import schema
from conftest import ROOT


def test_compiled_tree_shape(env):
    s = schema.load()
    ext = s.find(("pbx", "extension"))
    assert ext.kind == "list" and ext.keys == ("number",)
    assert s.find(("pbx", "extension", "codec")).user_ordered
    assert s.find(("pbx", "extension", "voicemail")).presence
    assert s.find(("pbx", "extension", "secret")).secret == "encrypt"
    assert s.find(("system", "user", "password")).secret == "hash"
    assert s.find(("pbx", "route", "trunk")).type.leafref == ("pbx", "trunk", "name")
    assert s.find(("pbx", "route", "trunk")).choice == (("target", "trunk"),)
    assert s.find(("pbx", "extension", "call-limit")).type.hint == "<1-32>"
    assert s.find(("pbx", "sip", "listen")).keys == ("address", "port", "transport")
    assert not s.find(("pbx", "registrations")).config
    # what a must on extension reads outside its entry: the PBX mode
    assert ("pbx", "mode") in ext.must_refs[1]


def test_cache_is_keyed_by_content(tmp_path, monkeypatch):
    yang = tmp_path / "yang"
    shutil.copytree(os.path.join(ROOT, "yang"), yang)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    schema._loaded.clear()
    first = schema.load(str(yang))
    cached = glob.glob(str(tmp_path / "cache" / "besip" / "schema-*.pickle"))
    assert len(cached) == 1 and first.digest in cached[0]

    schema._loaded.clear()
    import besip_cli.schema.compile as compile_mod
    monkeypatch.setattr(compile_mod, "compile_modules", lambda *a: (_ for _ in ()).throw(AssertionError("re-parsed")))
    again = schema.load(str(yang))          # from the cache: pyang is not called
    assert again.digest == first.digest

    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = (yang / "besip-system.yang").read_text().replace('default "besip";', 'default "besip2";')
    (yang / "besip-system.yang").write_text(text)
    schema._loaded.clear()
    changed = schema.load(str(yang))
    assert changed.digest != first.digest
    assert changed.find(("system", "hostname")).default == "besip2"
    schema._loaded.clear()


def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    schema._loaded.clear()
    first = schema.load()
    (path,) = glob.glob(str(tmp_path / "cache" / "besip" / "schema-*.pickle"))
    with open(path, "wb") as handle:
        handle.write(b"not a pickle")
    schema._loaded.clear()
    assert schema.load().digest == first.digest
    schema._loaded.clear()
