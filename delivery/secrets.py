"""Verification secrets: the HMAC key, per-send nonces, codes, link tokens and their digests.

The randomness of every code and token comes from :mod:`secrets` through the per-send nonce
(``outbox.nonce``); the code/token itself is ``HMAC(key, nonce)``. So a re-send after a crash
carries the same code/link (the nonce is stored before the send), while the database holds only
nonces and digests: without the key, which lives outside the database, neither reveals a code or
a token.
Domain-separation labels keep the four uses of the one key independent.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from pathlib import Path

from buzon.errors import ConfigError
from buzon.files import private_dir
from buzon.settings import Settings

KEY_FILE = "verificacion-hmac.key"
CODE_DIGITS = 5
_CODE_SPACE = 10**CODE_DIGITS
# Largest multiple of 10**5 below 2**64: values at or above it are rejected (no modulo bias).
_CODE_LIMIT = (2**64 // _CODE_SPACE) * _CODE_SPACE

# Stable contract: every digest of a token or code is made here (one at a time or in bulk with
# :class:`Digests`), with these labels. Changing one invalidates every live secret.
_DERIVE_CODE = b"buzon/v1/derive-code\x00"
_DERIVE_TOKEN = b"buzon/v1/derive-token\x00"
_DIGEST_CODE = b"buzon/v1/code-digest\x00"
_DIGEST_TOKEN = b"buzon/v1/token-digest\x00"


def load_key(settings: Settings) -> bytes:
    """The HMAC key: ``BUZON_SECRET_KEY`` or the key file under ``keys_dir`` (made on first use)."""
    if settings.secret_key is not None:
        raw = settings.secret_key.get_secret_value().encode()
        if len(raw) < 32:
            raise ConfigError("BUZON_SECRET_KEY debe tener al menos 32 caracteres")
        return raw
    path = settings.keys_dir / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


def _create_key_file(path: Path) -> None:
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mkstemp creates it 0600
    try:
        os.write(fd, base64.b64encode(secrets.token_bytes(32)) + b"\n")
        os.fsync(fd)
        os.close(fd)
        # link() fails if the name exists: of two first-use processes exactly one key wins and
        # both read the winner, so no process ever uses a key that was overwritten.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            "el archivo de llave HMAC es legible por otros usuarios; usa chmod 600", archivo=path
        )
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except ValueError:
        raise ConfigError("el archivo de llave HMAC está dañado", archivo=path) from None
    if len(key) < 32:
        raise ConfigError("el archivo de llave HMAC está dañado", archivo=path)
    return key


def new_nonce() -> str:
    """A fresh per-send nonce: 192 bits from :mod:`secrets`, URL-safe text (32 chars)."""
    return secrets.token_urlsafe(24)


def _mac(key: bytes, label: bytes, *parts: str) -> bytes:
    message = label + b"\x00".join(p.encode() for p in parts)
    return hmac.digest(key, message, "sha256")  # one-shot C path: ~3x faster than hmac.new()


def code_for(key: bytes, nonce: str) -> str:
    """The 5-digit code of one send, uniform over 00000-99999 (rejection sampling on 64 bits)."""
    counter = 0
    while True:
        digest = _mac(key, _DERIVE_CODE, nonce, str(counter))
        for i in range(0, 32, 8):
            value = int.from_bytes(digest[i : i + 8], "big")
            if value < _CODE_LIMIT:
                return f"{value % _CODE_SPACE:0{CODE_DIGITS}d}"
        counter += 1  # all four windows rejected: probability ~1e-56


def token_for(key: bytes, nonce: str) -> str:
    """The link token of one send: 192 bits, URL-safe (32 chars)."""
    return base64.urlsafe_b64encode(_mac(key, _DERIVE_TOKEN, nonce)[:24]).decode()


def token_digest(key: bytes, token: str) -> str:
    """What the store keeps for a link token (``medios.secreto_hash``): HMAC-SHA256 hex."""
    return _mac(key, _DIGEST_TOKEN, token).hex()


def code_digest(key: bytes, medio_id: int, code: str) -> str:
    """What the store keeps for a code, bound to its medium (a code is only 5 digits)."""
    return _mac(key, _DIGEST_CODE, str(int(medio_id)), code).hex()


def verify_code(key: bytes, medio_id: int, code: str, stored_digest: str | None) -> bool:
    """Constant-time check of a typed code against the medium's stored digest."""
    if not stored_digest:
        return False
    return hmac.compare_digest(code_digest(key, medio_id, code.strip()), stored_digest)


def verify_token(key: bytes, token: str, stored_digest: str | None) -> bool:
    """Constant-time check of a link token against a stored digest."""
    if not stored_digest:
        return False
    return hmac.compare_digest(token_digest(key, token), stored_digest)


class Digests:
    """:func:`token_digest` and :func:`code_digest` in bulk (a million event lines): the same
    values, with the HMAC pads computed once (~2x faster than :func:`hmac.digest` per call).

    >>> k = b"k" * 32
    >>> d = Digests(k)
    >>> d.token("abc") == token_digest(k, "abc"), d.code(7, "01234") == code_digest(k, 7, "01234")
    (True, True)
    """

    def __init__(self, key: bytes) -> None:
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def _hex(self, msg: bytes) -> str:
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def token(self, token: str) -> str:
        return self._hex(_DIGEST_TOKEN + token.encode())

    def code(self, medio_id: int, code: str) -> str:
        return self._hex(_DIGEST_CODE + f"{int(medio_id)}\x00{code}".encode())


def content_mac(key: bytes) -> hashlib.blake2b:
    """The keyed hash behind an event's idempotency key (its content hash): BLAKE2b under a key
    derived from the HMAC key, a MAC like HMAC-SHA256 at half the cost per line. Copy it per
    message (``.copy()``); the key itself never leaves this module."""
    return hashlib.blake2b(key=hashlib.sha256(key).digest(), digest_size=32)


def secret_for(key: bytes, canal: str, medio_id: int, nonce: str) -> tuple[str, str]:
    """``(secret, digest)`` for one send: a link token for ``correo``, a code for ``sms``."""
    if canal == "correo":
        token = token_for(key, nonce)
        return token, token_digest(key, token)
    code = code_for(key, nonce)
    return code, code_digest(key, medio_id, code)
