"""Pure ASGI middleware of the receiver: security headers on every response, bounded bodies.

Pure ASGI (not ``BaseHTTPMiddleware``): the body limit must act before the route reads anything,
and the headers must reach every response the app sends (pages, JSON, 404/405/422, 413, 429).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No external assets; the token in the URL must not leak through Referer.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_HSTS = ("Strict-Transport-Security", "max-age=31536000")


class SecurityHeaders:
    """Sets :data:`SECURITY_HEADERS` (and HSTS when served over HTTPS) on every response."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        extra = dict([_HSTS]) if https else {}
        self._headers = [
            (k.lower().encode(), v.encode()) for k, v in {**SECURITY_HEADERS, **extra}.items()
        ]
        self._names = {k for k, _ in self._headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in self._names
                ]
                message = {**message, "headers": kept + self._headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"error": "el cuerpo excede {limit} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of the body is never read
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over ``limit`` bytes, decided before the route reads any of it.

    With ``Content-Length``: from the header alone. Without (chunked): at most ``limit + 1`` bytes
    are buffered, then either 413 or the buffered body is handed to the app.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None:
            # The server already refused a malformed Content-Length; this is digits.
            if int(length) > self.limit:
                await _too_large(send, self.limit)
                return
            await self.app(scope, receive, send)
            return
        if b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body at all
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _too_large(send, self.limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)
