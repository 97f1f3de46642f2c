"""Throttling of the receiver's attempts: per client address and per subject, 429 + ``Retry-After``.

Two scopes, each with a limit per client address and one per subject, counted over a moving
window by the ``limits`` package (memory by default; ``BUZON_RATE_LIMIT_STORAGE=redis://...`` so
that several receivers share the counts):

- ``codigo``: code attempts and resends on ``/celular``; the subject is the (RFC, phone) pair.
- ``enlace``: ``POST /v/{token}``; the subject is the link.

Subjects are stored as a keyed hash, so a shared storage never holds an RFC, a phone or a token.
The client address is the TCP peer, or, when the peer is one of ``BUZON_TRUSTED_PROXIES``, the
rightmost ``X-Forwarded-For`` entry that is not itself a trusted proxy (entries further left are
whatever the client chose to send). Only the limit stops repetition: a CSRF token stays usable for
its whole lifetime.

Use on a route (the dependency reads the form fields ``rfc`` and ``telefono`` itself)::

    @app.post("/celular/reenviar", dependencies=[Depends(throttle.codes)])
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Sequence

from fastapi import Request
from limits import RateLimitItem, parse, storage, strategies
from starlette.concurrency import run_in_threadpool

from buzon.errors import ReceiverConfigError
from buzon.settings import Settings
from schemas import rfc as rfc_mod
from schemas import telefono as telefono_mod

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_NS = "buzon"


class TooManyRequests(Exception):
    """A limit refused the request; ``retry_after`` is in whole seconds (at least 1)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"demasiadas solicitudes; reintente en {retry_after} s")
        self.retry_after = retry_after


def parse_proxies(text: str) -> tuple[Network, ...]:
    """``BUZON_TRUSTED_PROXIES`` (comma-separated addresses or networks) as networks.

    >>> [str(n) for n in parse_proxies("127.0.0.1, 10.0.0.0/8 ,::1")]
    ['127.0.0.1/32', '10.0.0.0/8', '::1/128']
    >>> parse_proxies("")
    ()
    """
    nets = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ReceiverConfigError(
                f"BUZON_TRUSTED_PROXIES: «{part[:60]}» no es una dirección ni una red IP"
            ) from None
    return tuple(nets)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(peer: str, forwarded: Sequence[str], proxies: Sequence[Network]) -> str:
    """The address a request is counted against.

    >>> nets = parse_proxies("10.0.0.0/8")
    >>> client_address("203.0.113.9", ["198.51.100.1"], nets)  # not from a proxy: ignored
    '203.0.113.9'
    >>> client_address("10.0.0.2", ["1.2.3.4, 198.51.100.7, 10.0.0.3"], nets)
    '198.51.100.7'
    >>> client_address("10.0.0.2", [], nets)
    '10.0.0.2'
    """

    def trusted(addr: str) -> bool:
        ip = _ip(addr)
        return ip is not None and any(ip in net for net in proxies)

    if not proxies or not trusted(peer):
        return peer
    chain = [a.strip() for h in forwarded for a in h.split(",") if a.strip()]
    for addr in reversed(chain):
        if trusted(addr):
            continue
        ip = _ip(addr)
        # The rightmost untrusted entry was written by our own proxy; junk there means a proxy
        # that does not speak X-Forwarded-For: count the proxy itself rather than trust text.
        return str(ip) if ip is not None else peer
    return peer


def pair_subject(rfc: str | None, telefono: str | None) -> str | None:
    """The (RFC, phone) a code attempt is about, normalized; None when either is missing.

    >>> pair_subject(" eku900317-3c9 ", "55 1234 5678").replace(chr(0), "|")
    'EKU9003173C9|5512345678'
    >>> a = pair_subject("EKU9003173C9", "+52 1 55 1234 5678")
    >>> a == pair_subject("eku9003173c9", "5512345678")
    True
    >>> pair_subject("EKU9003173C9", "") is None
    True
    """
    # The one normalizer of each identifier: every spelling of a pair shares its count.
    r = rfc_mod.compact(rfc or "")
    t = telefono_mod.compact(telefono or "")
    return f"{r}\x00{t}" if r and t else None


class Throttle:
    """The receiver's limits, built once per app from ``settings`` (refuses bad configuration)."""

    def __init__(self, settings: Settings, key: bytes) -> None:
        self.proxies = parse_proxies(settings.trusted_proxies)
        self._key = hmac.new(key, b"buzon/v1/throttle", hashlib.sha256).digest()
        self.rules: dict[str, tuple[RateLimitItem, RateLimitItem]] = {
            "codigo": (
                _rule("BUZON_RATE_LIMIT_CODE_ADDRESS", settings.rate_limit_code_address),
                _rule("BUZON_RATE_LIMIT_CODE_PAIR", settings.rate_limit_code_pair),
            ),
            "enlace": (
                _rule("BUZON_RATE_LIMIT_LINK_ADDRESS", settings.rate_limit_link_address),
                _rule("BUZON_RATE_LIMIT_LINK_TOKEN", settings.rate_limit_link_token),
            ),
        }
        try:
            store = storage.storage_from_string(settings.rate_limit_storage)
        except Exception as exc:  # unknown scheme, missing driver
            raise ReceiverConfigError(
                f"BUZON_RATE_LIMIT_STORAGE no es válido: {' '.join(str(exc).split())[:200]}"
            ) from None
        if not store.check():
            where = settings.rate_limit_storage.split("@")[-1]  # never print a password
            raise ReceiverConfigError(f"BUZON_RATE_LIMIT_STORAGE: no responde {where}")
        self._limiter = strategies.MovingWindowRateLimiter(store)

    def client(self, request: Request) -> str:
        """The address ``request`` is counted against (see :func:`client_address`)."""
        peer = request.client.host if request.client else ""
        return client_address(peer, request.headers.getlist("x-forwarded-for"), self.proxies)

    def check(self, request: Request, scope: str, subject: str | None) -> None:
        """Count one attempt of ``scope``; raises :class:`TooManyRequests` past a limit.

        Blocking (a shared storage is a network call): call it from a thread.
        """
        per_address, per_subject = self.rules[scope]
        self._hit(per_address, scope, "ip", self.client(request))
        if subject:
            digest = hmac.new(self._key, subject.encode(), hashlib.sha256).hexdigest()[:32]
            self._hit(per_subject, scope, "sujeto", digest)

    def _hit(self, item: RateLimitItem, *ids: str) -> None:
        if self._limiter.hit(item, _NS, *ids):
            return
        reset = self._limiter.get_window_stats(item, _NS, *ids).reset_time
        raise TooManyRequests(max(1, math.ceil(reset - time.time())))

    async def codes(self, request: Request) -> None:
        """FastAPI dependency for every route that checks or resends a code (``/celular``)."""
        form = await request.form()
        rfc, tel = form.get("rfc"), form.get("telefono")
        subject = pair_subject(
            rfc if isinstance(rfc, str) else None, tel if isinstance(tel, str) else None
        )
        await run_in_threadpool(self.check, request, "codigo", subject)

    def links(self, request: Request, token: str) -> None:
        """FastAPI dependency for ``POST /v/{token}`` (a sync dependency runs in a thread)."""
        self.check(request, "enlace", token)


def _rule(name: str, text: str) -> RateLimitItem:
    try:
        return parse(text)
    except ValueError:
        raise ReceiverConfigError(
            f"{name}: «{text[:60]}» no es un límite válido (ejemplo: «20 per 10 minutes»)"
        ) from None
