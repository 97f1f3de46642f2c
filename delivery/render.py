"""Messages: jinja2 templates (Spanish) -> :class:`Message`, and the MIME bytes of an email.

Emails are assembled by hand (multipart/alternative, quoted-printable UTF-8 parts) because the
:mod:`email` package spends ~4 ms per message, more than the SMTP exchange itself. The output is
plain RFC 5322/2045 and the tests parse every spooled message back with :mod:`email.parser`.
"""

from __future__ import annotations

import binascii
import functools
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

import jinja2

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"

SUBJECTS = {
    # The IMSS guide's subject, word for word: people search their inbox for it.
    "verificacion": "Validación de mecanismos de comunicación como medios de contacto para el "
    "Buzón IMSS",
    "confirmacion": "Validación exitosa de tu correo electrónico - Buzón IMSS",
}

# GSM 03.38 basic set (plus the extension table's characters, which cost two septets).
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = set("^{}\\[~]|€")
SMS_MAX = 160


@dataclass(frozen=True, slots=True)
class Message:
    """One message ready for a transport. ``text`` is the SMS body for ``canal == 'sms'``."""

    outbox_id: int
    canal: str  # 'correo' | 'sms'
    to: str  # email address, or E.164 mobile (+52XXXXXXXXXX)
    text: str
    subject: str = ""
    html: str = ""
    message_id: str = ""


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,  # else every get_template() stats the file: templates ship with the code
    )


def gsm7_length(text: str) -> int | None:
    """Septets ``text`` takes in GSM-7, or ``None`` if it needs UCS-2."""
    total = 0
    for ch in text:
        if ch in _GSM7:
            total += 1
        elif ch in _GSM7_EXT:
            total += 2
        else:
            return None
    return total


def to_gsm7(text: str) -> str:
    """Spanish text in GSM-7: accents GSM-7 lacks (á í ó ú) lose them; é ñ ü ¿ ¡ stay."""
    out = []
    for ch in text:
        if ch in _GSM7 or ch in _GSM7_EXT:
            out.append(ch)
        else:
            base = unicodedata.normalize("NFD", ch)[0]
            out.append(base if base in _GSM7 else "?")
    return "".join(out)


def e164(mobile: str) -> str:
    """10 national digits -> ``+52XXXXXXXXXX``."""
    return mobile if mobile.startswith("+") else f"+52{mobile}"


def message_id(outbox_id: int, email_from: str) -> str:
    """``<outbox-ID@domain-of-sender>``: the same id on every attempt of one outbox row."""
    return f"<outbox-{outbox_id}@{_domain(email_from)}>"


@functools.lru_cache(maxsize=16)
def _domain(email_from: str) -> str:
    # parseaddr costs ~50 us: once per sender address, not once per message.
    return parseaddr(email_from)[1].rpartition("@")[2] or "buzon.local"


def render_sms(template: str, context: dict, *, enlace: str | None = None) -> str:
    """The SMS body in GSM-7. The link is never dropped: a text longer than one segment goes as
    one gateway request, which the gateway splits into concatenated segments."""
    return to_gsm7(environment().get_template(template).render(context, enlace=enlace).strip())


def sms_sample(public_url: str) -> str:
    """The longest verification SMS ``public_url`` gives (13-character RFC)."""
    return render_sms(
        "verificacion_sms.txt.j2",
        {"rfc": "XXXX000000XXX", "codigo": "00000", "plazo": "antes del 00/00/0000 00:00"},
        enlace=f"{public_url.rstrip('/')}/celular",
    )


@functools.cache
def warn_long_sms(public_url: str) -> bool:
    """Log once per process when ``public_url`` makes the verification SMS pass one segment."""
    size = gsm7_length(sms_sample(public_url)) or 0
    if size > SMS_MAX:
        log.warning(
            "BUZON_PUBLIC_URL hace que el SMS de verificación mida hasta %d caracteres (más de %d):"
            " se envía igual, completo y con la dirección, como una sola solicitud al gateway, que"
            " lo entrega en varios segmentos concatenados",
            size,
            SMS_MAX,
        )
        return True
    return False


def render(
    *,
    outbox_id: int,
    tipo: str,
    canal: str,
    destino: str,
    context: dict,
    public_url: str,
    email_from: str,
) -> Message:
    """Render one outbox row. ``context``: rfc, nombre, folio, medio, and codigo/token if any."""
    base = public_url.rstrip("/")
    if tipo == "recordatorio":  # the live send's codigo/token and its own plazo, in other words
        return _recordatorio(outbox_id, canal, destino, context, base, email_from)
    env = environment()
    if canal == "sms":
        if tipo == "verificacion":
            text = render_sms("verificacion_sms.txt.j2", context, enlace=f"{base}/celular")
        else:
            text = render_sms("confirmacion_sms.txt.j2", context)
        return Message(outbox_id=outbox_id, canal="sms", to=e164(destino), text=text)
    ctx = dict(context)
    if tipo == "verificacion":
        ctx["enlace"] = f"{base}/v/{context['token']}"
    return Message(
        outbox_id=outbox_id,
        canal="correo",
        to=destino,
        subject=SUBJECTS[tipo],
        text=env.get_template(f"{tipo}_correo.txt.j2").render(ctx),
        html=env.get_template(f"{tipo}_correo.html.j2").render(ctx),
        message_id=message_id(outbox_id, email_from),
    )


@functools.lru_cache(maxsize=64)
def _header(value: str) -> str:
    return Header(value, "utf-8").encode() if not value.isascii() else value


@functools.lru_cache(maxsize=16)
def _address(value: str) -> str:
    name, addr = parseaddr(value)
    return formataddr((name, addr), charset="utf-8") if name else addr


@functools.lru_cache(maxsize=4)
def _date(value: datetime) -> str:
    return format_datetime(value)


def _qp(text: str) -> bytes:
    body = text.replace("\r\n", "\n").encode()
    return binascii.b2a_qp(body, istext=True).replace(b"\n", b"\r\n")


def email_bytes(message: Message, email_from: str, date: datetime) -> bytes:
    """RFC 5322 bytes (CRLF) of an email :class:`Message`: text and HTML alternatives."""
    boundary = f"=_buzon_{message.outbox_id}_alt"
    head = (
        f"From: {_address(email_from)}\r\n"
        f"To: {message.to}\r\n"
        f"Subject: {_header(message.subject)}\r\n"
        f"Date: {_date(date.replace(microsecond=0))}\r\n"
        f"Message-ID: {message.message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Auto-Submitted: auto-generated\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
        "\r\n"
    ).encode()
    part = (
        'Content-Type: text/{}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    sep = f"--{boundary}\r\n".encode()
    return b"".join(
        (
            head,
            sep,
            part.format("plain").encode(),
            _qp(message.text),
            b"\r\n",
            sep,
            part.format("html").encode(),
            _qp(message.html),
            b"\r\n",
            f"--{boundary}--\r\n".encode(),
        )
    )


# Reminders (``buzon recordar``): the live send's code or link again, with its deadline.
ASUNTO_RECORDATORIO = "Recordatorio: valida tu correo electrónico para el Buzón IMSS"


def _recordatorio(
    outbox_id: int, canal: str, destino: str, ctx: dict, base: str, de: str
) -> Message:
    if canal == "sms":
        text = render_sms("recordatorio_sms.txt.j2", ctx, enlace=f"{base}/celular")
        return Message(outbox_id=outbox_id, canal="sms", to=e164(destino), text=text)
    env = environment()
    ctx = {**ctx, "enlace": f"{base}/v/{ctx['token']}"}
    return Message(
        outbox_id=outbox_id,
        canal="correo",
        to=destino,
        subject=ASUNTO_RECORDATORIO,
        text=env.get_template("recordatorio_correo.txt.j2").render(ctx),
        html=env.get_template("recordatorio_correo.html.j2").render(ctx),
        message_id=message_id(outbox_id, de),
    )
