"""Resends beyond one medium: the operator's bulk resend and the person's own resend.

- :func:`resend_many` (``buzon resend --rfc RFC`` / ``--pendientes [--antes-de ISO]``): every
  pending medium (``registrado`` or ``enviado``) of an RFC, or of the whole store, optionally only
  those whose deadline falls before an instant; each gets a new code or link within the cap of
  sends per medium, with no pause between them (the operator decides).
- :func:`resend_for_person` (the «Reenviar código de verificación» of ``/celular``): one mobile
  still ``enviado`` and within its window, at most once per minute counted from its last send.

Both go through :func:`delivery.resend.resend`, which kills the old code or link at once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from buzon.errors import LimitReachedError, NotFoundError, TransitionError
from buzon.settings import Settings
from delivery.dispatcher import dispatch
from delivery.resend import resend
from registry.clock import utc
from registry.db import get_engine, read_connection
from registry.reader.reenvios import read_celular_enviado, read_pendientes
from schemas import rfc as rfc_mod

# The person's page allows one resend per medium per minute, counted from the last send.
PAUSA = timedelta(seconds=60)


@dataclass(slots=True)
class BulkResult:
    resent: int = 0
    skipped: Counter = field(default_factory=Counter)
    outbox_ids: list[int] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"resent": self.resent, "skipped": dict(sorted(self.skipped.items()))}


def _skip_code(exc: Exception) -> str:
    if isinstance(exc, LimitReachedError):
        return "LIMITE_ENVIOS"
    if isinstance(exc, TransitionError):
        return "YA_VALIDADO"
    return "NO_PENDIENTE"


def resend_many(
    settings: Settings,
    *,
    rfc: str | None = None,
    antes_de: datetime | None = None,
    send: bool = True,
    engine: Engine | None = None,
) -> BulkResult:
    """A new code or link for every pending medium of ``rfc`` (or of every RFC).

    With ``antes_de``, only media whose deadline (``vence_en``) falls before that instant.
    Media at the cap of sends are skipped (``LIMITE_ENVIOS``); a medium that moved on meanwhile
    is skipped with the reason it gives. The new messages go out in one dispatch at the end.
    """
    engine = engine or get_engine(settings)
    with read_connection(engine) as conn:
        rows = read_pendientes(
            conn, rfc=None if rfc is None else rfc_mod.compact(rfc), antes_de=antes_de
        )
    out = BulkResult()
    for row in rows:
        if row.envios >= settings.max_sends_per_medium:
            out.skipped["LIMITE_ENVIOS"] += 1
            continue
        try:
            outbox_id, _ = resend(settings, row.rfc, row.valor, send=False, engine=engine)
        except (LimitReachedError, NotFoundError, TransitionError) as exc:
            out.skipped[_skip_code(exc)] += 1
            continue
        out.resent += 1
        out.outbox_ids.append(outbox_id)
    if send and out.outbox_ids:
        dispatch(settings, only_ids=out.outbox_ids, engine=engine)
    return out


def resend_for_person(settings: Settings, engine: Engine, rfc: str, telefono: str) -> int | None:
    """Queue a new code for the mobile ``telefono`` of ``rfc`` if the person may have one now.

    Only while the medium is ``enviado`` and within its window, at least a minute after its
    last send (or resend request), within the cap of sends. Returns the outbox id to send, or
    ``None``; the caller answers the same words either way, so nobody learns which RFC/phone
    pairs exist.
    """
    now = utc(settings.clock())
    with read_connection(engine) as conn:
        m = read_celular_enviado(conn, rfc, telefono)
    if m is None or m.vence_en is None or utc(m.vence_en) <= now:
        return None
    if m.envios >= settings.max_sends_per_medium:
        return None
    instantes = [utc(x) for x in (m.ultimo, m.enviado_en) if x is not None]
    if instantes and now - max(instantes) < PAUSA:
        return None
    try:
        outbox_id, _ = resend(settings, rfc, telefono, send=False, engine=engine)
    except (LimitReachedError, NotFoundError, TransitionError):
        return None
    return outbox_id
