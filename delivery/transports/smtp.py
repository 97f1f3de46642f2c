"""SMTP transport: ``settings.smtp_connections`` sessions, each one connection reused per batch.

Classification: a 5xx reply (including a 5xx refusal of the one recipient) is permanent; a 4xx
reply, a timeout or a dropped connection is temporary. A connection the server dropped (idle
timeout, "421 too many messages") is reopened and the message tried once more on the new
connection: the server may have accepted it before the drop, and then the same Message-ID arrives
twice, which is the documented at-most-one duplicate.

Overlap (``send(..., mail_wait=, data_wait=)``): the session runs the SMTP exchange itself
(smtplib's ``sendmail`` steps, same replies and exceptions) so that the caller can work while the
server does: ``mail_wait`` runs after ``MAIL FROM`` is written and before its reply is read (the
dispatcher commits the previous message's acceptance there: that message is recorded before this
one's data is sent, so at most one accepted-but-unrecorded message still exists), ``data_wait``
after the message data is written and before the server's verdict is read (the dispatcher renders
the next message there).
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from email.utils import parseaddr

from buzon.errors import ConfigError, PermanentDeliveryError, TemporaryDeliveryError
from buzon.settings import Settings
from delivery.ratelimit import TokenBucket
from delivery.render import Message, email_bytes

log = logging.getLogger(__name__)

_DROPPED = (smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout, ssl.SSLError)
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\Z")
_CRLF = b"\r\n"


class _HookFailed(Exception):
    """Carries an exception raised by the caller's overlap hook through the SMTP error handling."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _hook(fn: Callable[[], None] | None) -> None:
    if fn is not None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised untouched by send()
            raise _HookFailed(exc) from exc


def _quote(addr: str) -> str:
    # smtplib.quoteaddr runs email.utils.parseaddr (~60 us); a plain address needs no parsing.
    return f"<{addr}>" if _PLAIN_ADDRESS.match(addr) else smtplib.quoteaddr(addr)


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workers = max(1, settings.smtp_connections)
        self.bucket = TokenBucket(settings.send_rate)
        self.sender = parseaddr(settings.email_from)[1]
        if not self.sender:
            raise ConfigError("BUZON_EMAIL_FROM no contiene una dirección de correo")
        self.sender_quoted = _quote(self.sender)

    @contextmanager
    def session(self) -> Iterator[SmtpSession]:
        session = SmtpSession(self)
        try:
            yield session
        finally:
            session.close()


class SmtpSession:
    overlaps = True  # send() takes mail_wait / data_wait, see the module docstring

    def __init__(self, transport: SmtpTransport) -> None:
        self.t = transport
        self.settings = transport.settings
        self.conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.smtp_ssl:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host,
                    s.smtp_port,
                    timeout=s.smtp_timeout,
                    context=ssl.create_default_context(),
                )
            else:
                conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
                if s.smtp_starttls:
                    conn.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                conn.login(s.smtp_user, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ConfigError(
                f"el servidor SMTP rechazó el usuario o la contraseña ({exc.smtp_code})"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryDeliveryError(
                f"no se pudo conectar al servidor SMTP: {_describe(exc)}",
                host=s.smtp_host,
                port=s.smtp_port,
            ) from None
        return conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                self.conn.close()
            self.conn = None

    def _drop(self) -> None:
        if self.conn is not None:
            with suppress(OSError):
                self.conn.close()
            self.conn = None

    def encode(self, message: Message) -> bytes:
        """The message's SMTP data: CRLF lines, leading dots doubled, ending in CRLF."""
        data = email_bytes(message, self.settings.email_from, self.settings.clock())
        if data.startswith(b".") or b"\n." in data:
            data = smtplib._quote_periods(data)  # noqa: SLF001 - the same quoting as sendmail
        return data if data.endswith(_CRLF) else data + _CRLF

    def send(
        self,
        message: Message,
        *,
        data: bytes | None = None,
        mail_wait: Callable[[], None] | None = None,
        data_wait: Callable[[], None] | None = None,
    ) -> None:
        """Hand ``message`` (``data``: its :meth:`encode`, if already made) to the server."""
        self.t.bucket.acquire()
        if data is None:
            data = self.encode(message)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self._exchange(self.conn, message.to, data, mail_wait, data_wait)
            except _HookFailed as failed:
                self._drop()  # mid-command: the connection's state is unknown
                raise failed.exc from None
            except smtplib.SMTPRecipientsRefused as exc:
                code, reason = exc.recipients.get(message.to, (550, b"rechazado"))
                _raise_for(code, reason, message)
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code == 421:  # the server is closing this connection
                    self._drop()
                    if attempt == 1:
                        continue
                _raise_for(exc.smtp_code, exc.smtp_error, message)
            except _DROPPED as exc:
                self._drop()
                if attempt == 1:
                    log.info("SMTP connection dropped, reconnecting (%s)", type(exc).__name__)
                    continue
                raise TemporaryDeliveryError(
                    f"el servidor SMTP cerró la conexión: {_describe(exc)}"
                ) from None
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise TemporaryDeliveryError(f"error SMTP: {_describe(exc)}") from None
            return

    def _exchange(
        self,
        conn: smtplib.SMTP,
        to: str,
        data: bytes,
        mail_wait: Callable[[], None] | None,
        data_wait: Callable[[], None] | None,
    ) -> None:
        """smtplib's ``sendmail`` for one recipient, with the two waits handed to the caller."""
        conn.ehlo_or_helo_if_needed()
        size = f" SIZE={len(data)}" if conn.does_esmtp and conn.has_extn("size") else ""
        conn.putcmd("mail", f"FROM:{self.t.sender_quoted}{size}")
        _hook(mail_wait)
        code, resp = conn.getreply()
        if code != 250:
            if code == 421:
                conn.close()
            else:
                conn._rset()  # noqa: SLF001 - as sendmail does
            raise smtplib.SMTPSenderRefused(code, resp, self.t.sender)
        conn.putcmd("rcpt", f"TO:{_quote(to)}")  # not conn.rcpt(): it parses the address again
        code, resp = conn.getreply()
        if code not in (250, 251):
            if code == 421:
                conn.close()
            else:
                conn._rset()  # noqa: SLF001
            raise smtplib.SMTPRecipientsRefused({to: (code, resp)})
        conn.putcmd("data")
        code, resp = conn.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, resp)
        conn.send(data + b"." + _CRLF)
        _hook(data_wait)
        code, resp = conn.getreply()
        if code != 250:
            if code == 421:
                conn.close()
            else:
                conn._rset()  # noqa: SLF001
            raise smtplib.SMTPDataError(code, resp)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _raise_for(code: int, reason: bytes | str, message: Message) -> None:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
    detail = f"SMTP {code} {text}".strip()
    if 500 <= code < 600:
        raise PermanentDeliveryError(detail, outbox=message.outbox_id)
    raise TemporaryDeliveryError(detail, outbox=message.outbox_id)
