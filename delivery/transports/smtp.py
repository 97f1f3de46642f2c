"""SMTP transport: ``settings.smtp_connections`` sessions, each one connection reused per batch.

Classification: a 5xx reply (including a 5xx refusal of the one recipient) is permanent; a 4xx
reply, a timeout or a dropped connection is temporary. A connection the server dropped (idle
timeout, "421 too many messages") is reopened and the message tried once more on the new
connection: the server may have accepted it before the drop, and then the same Message-ID arrives
twice, which is the documented at-most-one duplicate.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email.utils import parseaddr

from buzon.errors import ConfigError, PermanentDeliveryError, TemporaryDeliveryError
from buzon.settings import Settings
from delivery.ratelimit import TokenBucket
from delivery.render import Message, email_bytes

log = logging.getLogger(__name__)

_DROPPED = (smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout, ssl.SSLError)


class SmtpTransport:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workers = max(1, settings.smtp_connections)
        self.bucket = TokenBucket(settings.send_rate)
        self.sender = parseaddr(settings.email_from)[1]
        if not self.sender:
            raise ConfigError("BUZON_EMAIL_FROM no contiene una dirección de correo")

    @contextmanager
    def session(self) -> Iterator[SmtpSession]:
        session = SmtpSession(self)
        try:
            yield session
        finally:
            session.close()


class SmtpSession:
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

    def send(self, message: Message) -> None:
        self.t.bucket.acquire()
        data = email_bytes(message, self.settings.email_from, self.settings.clock())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self._connect()
            try:
                refused = self.conn.sendmail(self.t.sender, [message.to], data)
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
            if refused:  # single recipient: sendmail raises instead, kept for safety
                code, reason = refused[message.to]
                _raise_for(code, reason, message)
            return


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _raise_for(code: int, reason: bytes | str, message: Message) -> None:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
    detail = f"SMTP {code} {text}".strip()
    if 500 <= code < 600:
        raise PermanentDeliveryError(detail, outbox=message.outbox_id)
    raise TemporaryDeliveryError(detail, outbox=message.outbox_id)
