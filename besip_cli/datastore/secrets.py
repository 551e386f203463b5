"""Secrets at rest and in output: crypt(3) hashes for login passwords, and `$9$` tokens
for SIP secrets.

Token forms (all start `$9$`, so every loader recognises them):
- `$9$2$...`  AES-GCM under this box's key with a synthetic nonce (see _seal), the clear
  text padded to a multiple of 32 bytes: equal secrets in one output give different
  tokens, the length is hidden, an unchanged tree is shown the same every time.
- `$9$p$...`  the same under a key derived (scrypt) from an export passphrase
  ($BESIP_PASSPHRASE): any box given the passphrase decrypts it.
- `$9$...`    (no version) AES-SIV of earlier builds, still decrypted."""

import base64
import hashlib
import hmac
import os
import secrets as _random

from ..fsutil import write_atomic
from ..visible import visible

PREFIX = "$9$"
BOX = PREFIX + "2$"
PORTABLE = PREFIX + "p$"
KEY_FILE = "secret.key"
PASSPHRASE_ENV = "BESIP_PASSPHRASE"
BUCKET = 32                    # clear text is padded to a multiple of this many bytes
_NONCE = 12
_SALT = 16
MASK = "*****"                 # a secret's value where an error or a history shows it


class SecretError(ValueError):
    pass


def _b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(body):
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _pad(text):
    """TEXT as bytes, ended by 0x80 and zeros up to the next multiple of BUCKET."""
    raw = text.encode("utf-8") + b"\x80"
    return raw + b"\0" * (-len(raw) % BUCKET)


def _unpad(raw):
    return raw[:raw.rindex(b"\x80")].decode("utf-8")


def _seal(key, text, index):
    """Nonce + AES-GCM of TEXT under KEY[:32]. The nonce is synthetic (as in AES-SIV): an
    HMAC under KEY[32:] of the clear text and its occurrence INDEX in the output, so the
    n-th occurrence of a secret gets the same token in every output (unchanged trees show
    and diff the same, across processes) and equal secrets get different ones."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    nonce = hmac.new(key[32:], b"%d\0" % index + text.encode("utf-8"),
                     hashlib.sha256).digest()[:_NONCE]
    return nonce + AESGCM(key[:32]).encrypt(nonce, _pad(text), None)


def _open(key, raw):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    return _unpad(AESGCM(key[:32]).decrypt(raw[:_NONCE], raw[_NONCE:], None))


def passphrase():
    """The export passphrase from $BESIP_PASSPHRASE (an environment variable, not an
    argument, so that `ps` does not show it); SecretError when unset."""
    value = os.environ.get(PASSPHRASE_ENV, "")
    if not value:
        raise SecretError("portable secrets need the export passphrase in the environment "
                          "variable %s" % PASSPHRASE_ENV)
    return value


class Keyring:
    """The box's secret key, created on first use in the data directory (mode 0600), and
    the passphrase-derived keys of portable tokens."""

    def __init__(self, directory):
        self.path = os.path.join(directory, KEY_FILE)
        self._box = None
        self._siv = None
        self._derived = {}       # (passphrase, salt) -> key: scrypt once per salt

    def _key(self):
        if self._box is None:
            try:
                with open(self.path, "rb") as handle:
                    key = handle.read()
            except FileNotFoundError:
                key = self._create()
            if len(key) != 64:
                raise SecretError("%s is damaged (%d bytes instead of 64): restore it from "
                                  "a backup; without it the SIP secrets cannot be shown or "
                                  "loaded back" % (self.path, len(key)))
            self._box = key
        return self._box

    def _create(self):
        """A new key, written whole before it appears under its name (a kill at any
        instant leaves no key or the complete key); the first of two racing processes wins."""
        key = _random.token_bytes(64)
        try:
            created = write_atomic(self.path, key, 0o600, exclusive=True)
        except OSError as exc:         # a full or read-only data directory
            raise SecretError("cannot create the secrets key %s: %s" % (self.path, exc.strerror))
        if not created:
            with open(self.path, "rb") as handle:
                key = handle.read()
        return key

    def _derive(self, phrase, salt):
        key = self._derived.get((phrase, salt))
        if key is None:
            from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
            key = Scrypt(salt=salt, length=64, n=2 ** 15, r=8, p=1).derive(phrase.encode())
            self._derived[(phrase, salt)] = key
        return key

    def _encrypt(self, portable, text, index):
        if not portable:
            return BOX + _b64(_seal(self._key(), text, index))
        phrase = passphrase()
        salt = hmac.new(self._key(), phrase.encode(), hashlib.sha256).digest()[:_SALT]
        return PORTABLE + _b64(salt + _seal(self._derive(phrase, salt), text, index))

    def concealer(self, portable=False):
        """A function turning clear text into tokens for one output (see _seal)."""
        seen = {}

        def conceal(text):
            index = seen[text] = seen.get(text, -1) + 1
            return self._encrypt(portable, text, index)
        return conceal

    def reveal(self, token):
        """Clear text of a `$9$` token made by this box, or portable with the passphrase."""
        from cryptography.exceptions import InvalidTag
        try:
            if token.startswith(PORTABLE):
                raw = _unb64(token[len(PORTABLE):])
                key = self._derive(passphrase(), raw[:_SALT])
                return _open(key, raw[_SALT:])
            if token.startswith(BOX):
                return _open(self._key(), _unb64(token[len(BOX):]))
            return self._reveal_siv(token)
        except (ValueError, InvalidTag):
            if token.startswith(PORTABLE):
                raise SecretError("cannot decrypt %s...: wrong export passphrase in %s"
                                  % (token[:12], PASSPHRASE_ENV))
            raise SecretError("cannot decrypt %s...: it was not encrypted by this box's key "
                              "(type the secret in clear text, or export it portable)"
                              % token[:12])

    def _reveal_siv(self, token):
        """Tokens of earlier builds: deterministic AES-SIV under the whole box key."""
        if self._siv is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESSIV
            self._siv = AESSIV(self._key())
        return self._siv.decrypt(_unb64(token[len(PREFIX):]), None).decode("utf-8")


def hash_password(text):
    """A SHA-512 crypt(3) hash of TEXT; values that already are hashes pass through."""
    if text.startswith(("$6$", "$5$")):
        return text
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(text, crypt.mksalt(crypt.METHOD_SHA512))


def verify_password(text, hashed):
    import hmac
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return hmac.compare_digest(crypt.crypt(text, hashed), hashed)


def shown_value(node, text, exc):
    """(TEXT, the message of EXC) as an error about the value of leaf NODE shows them: a
    secret leaf's value masked, even inside the message; invisible characters as \\uXXXX."""
    if getattr(node, "secret", None) and text:
        return MASK, str(exc).replace(text, MASK)
    return visible(text), str(exc)
