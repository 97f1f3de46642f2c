"""Stateless CSRF tokens: a signed form token bound to one form (scope) and one hour.

``<issued unix seconds>.<random nonce>.<HMAC(key, scope, issued, nonce)>``: the server keeps no
session; a token minted for one link's form does not validate another link's form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

MAX_AGE_SECONDS = 3600
_LABEL = b"buzon/v1/csrf\x00"
# What emitir makes, in ASCII only: anything else is refused before it is parsed.
_FORMA = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_\-]{1,64})\.([0-9a-f]{40})", re.ASCII)


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
    >>> verificar(k, "/celular", "²." + tok.split(".", 1)[1], t)  # not ASCII digits
    False
    >>> verificar(k, "/celular", "9" * 5000 + ".a.b", t), verificar(k, "/celular", tok + "ñ", t)
    (False, False)
    """
    forma = _FORMA.fullmatch(token or "")
    if forma is None:
        return False
    issued_s, nonce, sig = forma.groups()
    issued = int(issued_s)
    if not 0 <= now.timestamp() - issued <= MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(sig, _sig(key, scope, issued, nonce))
