"""Secrets at rest and in output: crypt(3) hashes for login passwords, and `$9$` tokens
(AES-SIV under this box's key, deterministic so diffs stay stable) for SIP secrets."""

import base64
import os
import secrets as _random

from ..fsutil import write_atomic

PREFIX = "$9$"
KEY_FILE = "secret.key"


class SecretError(ValueError):
    pass


class Keyring:
    """The box's secret key, created on first use in the data directory (mode 0600)."""

    def __init__(self, directory):
        self.path = os.path.join(directory, KEY_FILE)
        self._cipher = None
        self._tokens = {}        # clear text -> token: the encryption is deterministic

    def _aead(self):
        if self._cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESSIV
            self._cipher = AESSIV(self._key())
        return self._cipher

    def _key(self):
        try:
            with open(self.path, "rb") as handle:
                key = handle.read()
        except FileNotFoundError:
            key = self._create()
        if len(key) != 64:
            raise SecretError("%s is damaged (%d bytes instead of 64): restore it from a "
                              "backup; without it the SIP secrets cannot be shown or "
                              "loaded back" % (self.path, len(key)))
        return key

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

    def conceal(self, text):
        token = self._tokens.get(text)
        if token is None:
            raw = self._aead().encrypt(text.encode("utf-8"), None)
            token = self._tokens[text] = PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return token

    def reveal(self, token):
        """Clear text of a `$9$` token made by this box."""
        from cryptography.exceptions import InvalidTag
        body = token[len(PREFIX):]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return self._aead().decrypt(raw, None).decode("utf-8")
        except (ValueError, InvalidTag):
            raise SecretError("cannot decrypt %s...: it was not encrypted by this box's key "
                              "(type the secret in clear text)" % token[:12])


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
