"""Transports: how a rendered :class:`~delivery.render.Message` leaves the process.

Each transport has ``workers`` (how many sessions may run in parallel threads) and ``session()``,
a context manager for one worker thread whose ``send(message)`` returns once the message is
accepted, or raises :class:`~buzon.errors.TemporaryDeliveryError` (retry later) or
:class:`~buzon.errors.PermanentDeliveryError` (never retry). Sessions keep their connection
across sends; the dispatcher records each acceptance before the session sends the next message.
A session with ``overlaps = True`` (SMTP) also has ``encode(message)`` and takes
``send(message, data=, mail_wait=, data_wait=)``, hooks it runs while the server works; see
:mod:`delivery.transports.smtp`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from buzon.settings import Settings
from delivery.render import Message


class Session(Protocol):
    def send(self, message: Message) -> None: ...


class Transport(Protocol):
    name: str
    workers: int

    def session(self) -> AbstractContextManager[Session]: ...


def for_canal(settings: Settings, canal: str) -> Transport:
    """The transport the settings choose for ``canal`` ('correo' or 'sms')."""
    if canal == "correo":
        if settings.email_transport == "smtp":
            from delivery.transports.smtp import SmtpTransport

            return SmtpTransport(settings)
        from delivery.transports.spool import SpoolEmailTransport

        return SpoolEmailTransport(settings)
    if settings.sms_transport == "http":
        from delivery.transports.http import HttpSmsTransport

        return HttpSmsTransport(settings)
    from delivery.transports.spool import SpoolSmsTransport

    return SpoolSmsTransport(settings)
