"""Stateless CSRF tokens: a signed form token bound to one form (scope) and one hour.

``<issued unix seconds>.<random nonce>.<HMAC(key, scope, issued, nonce)>``: the server keeps no
session; a token minted for one link's form does not validate another link's form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

MAX_AGE_SECONDS = 3600
_LABEL = b"buzon/v1/csrf\x00"


def _sig(key: bytes, scope: str, issued: int, nonce: str) -> str:
    msg = _LABEL + f"{scope}\x00{issued}\x00{nonce}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:40]


def emitir(key: bytes, scope: str, now: datetime) -> str:
    """A new token for the form identified by ``scope``."""
    issued = int(now.timestamp())
    nonce = secrets.token_urlsafe(12)
    return f"{issued}.{nonce}.{_sig(key, scope, issued, nonce)}"


def verificar(key: bytes, scope: str, token: str | None, now: datetime) -> bool:
    """Whether ``token`` was minted by us for ``scope`` within the last hour.

    >>> from datetime import UTC
    >>> t = datetime(2024, 8, 8, tzinfo=UTC); k = b"k" * 32
    >>> tok = emitir(k, "/celular", t)
    >>> verificar(k, "/celular", tok, t), verificar(k, "/v/x", tok, t)
    (True, False)
    >>> verificar(k, "/celular", "x", t), verificar(k, "/celular", tok, t.replace(hour=2))
    (False, False)
    """
    if not token or token.count(".") != 2:
        return False
    issued_s, nonce, sig = token.split(".")
    if not issued_s.isdigit():
        return False
    issued = int(issued_s)
    if not 0 <= now.timestamp() - issued <= MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(sig, _sig(key, scope, issued, nonce))
