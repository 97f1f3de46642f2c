"""A population of recipients for ``buzon demo``, each acting through the real receiver over HTTP.

What a person does is one function: confirm an emailed link (GET the page, POST «Confirmar» with its
CSRF field), type an SMS code in «Validación de Celular», press «Reenviar código de verificación».
What the SMS provider does is one more: post a signed delivery receipt to ``/webhooks/entregas``.
The messages are read from the spool exactly as they were sent; the registry is read only to learn
what a person knows by heart (their RFC) and which message belongs to which medium.
"""

from __future__ import annotations

import email
import json
import re
from dataclasses import dataclass
from email import policy

import httpx
from sqlalchemy import select

from buzon.settings import Settings
from callbacks.signature import sign
from callbacks.simulate import _CSRF, _LINK, _estado
from registry.db import get_engine
from registry.tables import alcances, medios, outbox

_CODE = re.compile(r"c[oó]digo de verificaci[oó]n es:? (\d{5})", re.IGNORECASE)


@dataclass(frozen=True)
class Mensaje:
    """One spooled verification message and the medium it verifies."""

    outbox_id: int
    medio_id: int
    rfc: str
    mecanismo: str  # 'correo' | 'telefono'
    valor: str
    alcance_rfc: bool  # the medium holds the RFC scope (what activation needs)
    secreto: str  # the link token or the SMS code, as the person received it


def _spooled(settings: Settings) -> dict[int, str]:
    """Outbox id -> link token or SMS code, from ``spool/email/*.eml`` and ``spool/sms.jsonl``."""
    found: dict[int, str] = {}
    for path in (settings.spool_dir / "email").glob("outbox-*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        link = _LINK.search(body.get_content() if body else "")
        if link:
            found[int(path.stem.split("-")[1])] = link.group(1)
    sms = settings.spool_dir / "sms.jsonl"
    if sms.exists():
        for line in sms.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            code = _CODE.search(rec.get("message", ""))
            if code:
                found[int(rec["reference"])] = code.group(1)
    return found


def mensajes(settings: Settings) -> list[Mensaje]:
    """Every spooled verification message, oldest first, with its medium."""
    spooled = _spooled(settings)
    with get_engine(settings).connect() as conn:
        rows = conn.execute(
            select(outbox.c.id, medios.c.id, medios.c.rfc, medios.c.mecanismo, medios.c.valor)
            .join(medios, medios.c.id == outbox.c.medio_id)
            .where(outbox.c.id.in_(list(spooled) or [-1]))
            .order_by(outbox.c.id)
        ).all()
        con_rfc = set(
            conn.execute(select(alcances.c.medio_id).where(alcances.c.rp.is_(None))).scalars()
        )
    return [
        Mensaje(oid, mid, rfc, mec, valor, mid in con_rfc, spooled[oid])
        for oid, mid, rfc, mec, valor in rows
    ]


def confirmar_enlace(http: httpx.Client, token: str) -> str:
    """Open the emailed link and press «Confirmar»; the page's outcome (``validado``, ...)."""
    page = http.get(f"/v/{token}")
    csrf = _CSRF.search(page.text)
    if not csrf:
        return _estado(page.text)
    return _estado(http.post(f"/v/{token}", data={"csrf": csrf.group(1)}).text)


def teclear_codigo(http: httpx.Client, rfc: str, telefono: str, codigo: str) -> str:
    """Type RFC, mobile and code in «Validación de Celular»; the page's outcome."""
    form = http.get("/celular")
    data = {"rfc": rfc, "telefono": telefono, "codigo": codigo}
    data["csrf"] = _CSRF.search(form.text).group(1)
    return _estado(http.post("/celular", data=data).text)


def pedir_reenvio(http: httpx.Client, rfc: str, telefono: str) -> int:
    """Press «Reenviar código de verificación» on the same page; the HTTP status."""
    form = http.get("/celular")
    csrf = re.findall(r'name="csrf" value="([^"]+)"', form.text)[-1]  # the resend form's field
    r = http.post("/celular/reenviar", data={"rfc": rfc, "telefono": telefono, "csrf": csrf})
    return r.status_code


def rebotar(
    http: httpx.Client, secret: str, outbox_id: int, settings: Settings, *, firmar: bool = True
) -> int:
    """The SMS/email provider's receipt: ``outbox_id`` bounced. Signed with ``secret`` unless
    ``firmar`` is false (a forged receipt, which the receiver refuses with 401)."""
    now = settings.clock()
    body = json.dumps(
        {"reference": outbox_id, "status": "rebotado", "reason": "buzón lleno",
         "at": now.isoformat()}
    ).encode()  # fmt: skip
    headers = sign(secret if firmar else "x" * 32, body, now)
    headers["Content-Type"] = "application/json"
    return http.post("/webhooks/entregas", content=body, headers=headers).status_code


def ultimo_codigo(settings: Settings, medio_id: int) -> str | None:
    """The latest code spooled for ``medio_id`` (after a resend, the new one)."""
    ultimos = [m for m in mensajes(settings) if m.medio_id == medio_id]
    return ultimos[-1].secreto if ultimos else None
