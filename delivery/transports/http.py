"""SMS through an HTTP gateway (httpx): one shared keep-alive client, ``sms_concurrency`` workers.

``POST settings.sms_url`` with ``Authorization: Bearer <sms_token>``,
``Idempotency-Key: <outbox id>`` and
``{"to": "+52XXXXXXXXXX", "message": ..., "reference": <outbox id>}``. 2xx = accepted; 429, 5xx,
timeouts and connection errors = temporary (``Retry-After`` is honoured); any other status =
permanent, with the gateway's own reason.
"""

from __future__ import annotations

import functools
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from buzon.errors import ConfigError, PermanentDeliveryError, TemporaryDeliveryError
from buzon.settings import Settings
from delivery.ratelimit import TokenBucket
from delivery.render import Message


class HttpSmsTransport:
    name = "http-sms"

    def __init__(self, settings: Settings) -> None:
        if not settings.sms_url:
            raise ConfigError("BUZON_SMS_URL es obligatorio con BUZON_SMS_TRANSPORT=http")
        self.settings = settings
        self.url = settings.sms_url
        self.workers = max(1, settings.sms_concurrency)
        self.bucket = TokenBucket(settings.send_rate)
        self._client: httpx.Client | None = None
        self._sessions = 0
        self._lock = threading.Lock()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "buzon-masivo"}
        if self.settings.sms_token is not None:
            headers["Authorization"] = f"Bearer {self.settings.sms_token.get_secret_value()}"
        return headers

    @contextmanager
    def session(self) -> Iterator[HttpSmsTransport]:
        # httpx.Client is thread-safe: the workers share one pool of keep-alive connections.
        # Building one costs ~0.3 s (TLS context), so exactly one is built, under the lock.
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    headers=self._headers(),
                    timeout=self.settings.sms_timeout,
                    verify=_tls_context(),
                    limits=httpx.Limits(
                        max_connections=self.workers, max_keepalive_connections=self.workers
                    ),
                )
            self._sessions += 1
        try:
            yield self
        finally:
            with self._lock:
                self._sessions -= 1
                if self._sessions == 0 and self._client is not None:
                    self._client.close()
                    self._client = None

    def send(self, message: Message) -> None:
        assert self._client is not None, "send() outside session()"
        self.bucket.acquire()
        body = json.dumps(
            {"to": message.to, "message": message.text, "reference": message.outbox_id},
            ensure_ascii=False,
        ).encode()
        try:
            response = self._client.post(
                self.url, content=body, headers={"Idempotency-Key": str(message.outbox_id)}
            )
        except httpx.TimeoutException:
            raise TemporaryDeliveryError("la pasarela SMS no respondió a tiempo") from None
        except httpx.HTTPError as exc:
            raise TemporaryDeliveryError(f"error de conexión con la pasarela SMS: {exc}") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = _reason(response)
        if status == 429 or status >= 500:
            raise TemporaryDeliveryError(
                f"pasarela SMS {status}: {reason}", retry_after=_retry_after(response)
            )
        raise PermanentDeliveryError(f"pasarela SMS {status}: {reason}")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # httpx would build (and load CA files for) a new context per client: ~0.3 s each.
    return ssl.create_default_context()


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("reason", "error", "message", "detail"):
            if isinstance(data.get(key), str):
                return data[key][:300]
    text = " ".join(response.text.split())[:300]
    return text or response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
