"""Signed webhooks: ``X-Buzon-Timestamp`` + ``X-Buzon-Firma``, replay-proof within a window.

The sender signs ``"<unix seconds>." + raw body`` with HMAC-SHA256 under ``BUZON_WEBHOOK_SECRET``
(at least 32 bytes) and sends ``X-Buzon-Timestamp: <unix seconds>`` and
``X-Buzon-Firma: sha256=<hex>``. The receiver refuses (401) a wrong signature and a timestamp more
than five minutes away from its clock, so a captured request cannot be replayed later (and one
replayed within the window is the same event: its content hash makes it a no-op).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

TIMESTAMP_HEADER = "X-Buzon-Timestamp"
SIGNATURE_HEADER = "X-Buzon-Firma"
MIN_SECRET_BYTES = 32
_TS = re.compile(r"[0-9]{1,12}", re.ASCII)


def signature(secret: bytes, timestamp: int | str, body: bytes) -> str:
    """The ``X-Buzon-Firma`` value for ``body`` sent at ``timestamp``.

    >>> signature(b"s" * 32, 1723118400, b"{}")[:15]
    'sha256=5e3706a0'
    """
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def sign(secret: bytes | str, body: bytes, now: datetime) -> dict[str, str]:
    """The two headers a sender adds to a webhook ``body`` posted at ``now``."""
    key = secret.encode() if isinstance(secret, str) else secret
    ts = int(now.timestamp())
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: signature(key, ts, body)}


def verify(
    secret: bytes, timestamp: str, firma: str, body: bytes, now: datetime, window: int
) -> bool:
    """Whether ``firma`` signs ``body`` at ``timestamp`` and ``timestamp`` is within ``window``
    seconds of ``now`` (either side). Constant-time on the signature.

    >>> from datetime import UTC
    >>> t = datetime(2024, 8, 8, 12, tzinfo=UTC); k = b"k" * 32
    >>> h = sign(k, b"{}", t)
    >>> verify(k, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], b"{}", t, 300)
    True
    >>> later = t.replace(minute=6)
    >>> verify(k, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], b"{}", later, 300)
    False
    >>> verify(k, "١٧٢٣١١٨٤٠٠", h[SIGNATURE_HEADER], b"{}", t, 300)
    False
    """
    if not _TS.fullmatch(timestamp) or abs(now.timestamp() - int(timestamp)) > window:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(firma.encode("utf-8", "replace"), expected.encode())
