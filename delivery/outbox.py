"""The outbox: queueing messages, claiming due rows (phase a) and recording outcomes (phase c).

Exactly-once protocol for one row (the dispatcher runs (b) between these):

(a) ``prepare``: in one transaction, give a verification row its nonce (kept for every later
    attempt) and make that send's secret the medium's live one (``secreto_hash``,
    ``envio_vigente``); the medium's state does not change. Rows whose medium can no longer be
    verified are ``descartado``.
(b) the transport hands the message over (Message-ID / Idempotency-Key derived from the outbox
    id).
(c) ``record``: only after acceptance, the row becomes ``enviado`` and the medium ``enviado``
    with a new validity window. A crash between (b) and (c) leaves the row ``pendiente`` with the
    same nonce, so the next run re-sends the same identifiable message with the same code/link.
"""

from __future__ import annotations

import hmac
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Row, bindparam, func, select, update

from buzon.errors import DeliveryError, PermanentDeliveryError
from buzon.settings import Settings
from delivery import secrets as sec
from registry import transitions
from registry.clock import utc
from registry.reader.recordatorios import RECORDATORIO
from registry.sql import batches
from registry.tables import alcances, medios, outbox, particulares
from registry.transitions import ENVIAR, NO_ENTREGAR
from registry.ventanas import plazo_envio

# The states a verification can still be sent to: those that can reach ``enviado``.
VERIFICABLES = ENVIAR.origenes
MAX_BACKOFF = timedelta(hours=6)


@dataclass(slots=True)
class Due:
    """A claimed outbox row with what its message needs. ``secret`` never leaves the process."""

    id: int
    medio_id: int
    tipo: str
    canal: str
    destino: str
    intentos: int
    medio_estado: str
    rfc: str
    nombre: str | None
    folio: str
    valor: str
    secret: str | None = None
    # For the message: the window (registry.ventanas.plazo_envio) and the RPs an email covers.
    envios: int = 0
    vence_en: datetime | None = None
    rps: list[str] | None = None


def prepare(
    conn: Connection,
    key: bytes,
    now: datetime,
    limit: int,
    only_ids: Sequence[int] | None = None,
) -> tuple[list[Due], int]:
    """Phase (a): claim up to ``limit`` due rows (oldest first) and arm their secrets.

    Returns the rows to send and how many rows were looked at (sent or discarded).
    """
    query = (
        select(
            outbox.c.id,
            outbox.c.medio_id,
            outbox.c.tipo,
            outbox.c.canal,
            outbox.c.destino,
            outbox.c.intentos,
            outbox.c.nonce,
            medios.c.estado,
            medios.c.rfc,
            particulares.c.nombre,
            medios.c.folio,
            medios.c.valor,
            medios.c.envios,
            medios.c.secreto_hash,
            medios.c.vence_en,
        )
        .join(medios, medios.c.id == outbox.c.medio_id)
        .join(particulares, particulares.c.rfc == medios.c.rfc)
        .where(outbox.c.estado == "pendiente", outbox.c.proximo_intento <= now)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if only_ids is not None:
        query = query.where(outbox.c.id.in_(list(only_ids)))
    due: list[Due] = []
    seen = 0
    discarded: list[dict] = []
    nonces: list[dict] = []
    armed: list[dict] = []
    for r in conn.execute(query).all():
        seen += 1
        item = Due(
            r.id,
            r.medio_id,
            r.tipo,
            r.canal,
            r.destino,
            r.intentos,
            r.estado,
            r.rfc,
            r.nombre,
            r.folio,
            r.valor,
            envios=r.envios,
            vence_en=r.vence_en,
        )
        if r.tipo == "verificacion":
            if r.estado not in VERIFICABLES:
                discarded.append({"oid": r.id, "error": f"medio en estado {r.estado}"})
                continue
            nonce = r.nonce
            if nonce is None:
                nonce = sec.new_nonce()
                nonces.append({"oid": r.id, "nonce": nonce})
            item.secret, digest = sec.secret_for(key, r.canal, r.medio_id, nonce)
            armed.append({"mid": r.medio_id, "oid": r.id, "digest": digest})
        elif r.tipo == RECORDATORIO:
            motivo = _recordatorio(key, now, r, item)
            if motivo is not None:
                discarded.append({"oid": r.id, "error": motivo})
                continue
        due.append(item)
    _rps_de_correos(conn, due)
    if discarded:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == _b("oid"), outbox.c.estado == "pendiente")
            .values(estado="descartado", error=_b("error")),
            discarded,
        )
    if nonces:
        conn.execute(
            update(outbox).where(outbox.c.id == _b("oid")).values(nonce=_b("nonce")), nonces
        )
    if armed:
        # Guarded by the medium's state: a medium that moved on gets no live secret, and its
        # message is not sent (the row stays pending and is discarded on the next claim).
        vivos = transitions.armar(conn, [(a["mid"], a["oid"], a["digest"]) for a in armed])
        due = [d for d in due if d.tipo != "verificacion" or d.medio_id in vivos]
    return due, seen


_b = bindparam


def _recordatorio(key: bytes, now: datetime, r: Row, item: Due) -> str | None:
    """Arm a reminder with its live send's secret (derived again from the nonce it carries);
    the reason to discard it instead when that secret is no longer the medium's live one (a
    resend, wrong codes, validation) or its deadline has passed. It changes nothing in ``medios``.
    """
    if r.estado != ENVIAR.a or r.nonce is None or r.secreto_hash is None:
        return f"recordatorio sin código vigente (medio en estado {r.estado})"
    if r.vence_en is None or utc(r.vence_en) <= utc(now):
        return "recordatorio después del vencimiento"
    secret, digest = sec.secret_for(key, r.canal, r.medio_id, r.nonce)
    if not hmac.compare_digest(digest, r.secreto_hash):
        return "recordatorio de un código que ya no es el vigente"
    item.secret, item.vence_en = secret, utc(r.vence_en)
    return None


def _rps_de_correos(conn: Connection, due: list[Due]) -> None:
    """Give each verification email the Registros Patronales its address covers (sorted)."""
    correos = {d.medio_id: d for d in due if d.tipo == "verificacion" and d.canal == "correo"}
    if not correos:
        return
    for d in correos.values():
        d.rps = []
    for part in batches(sorted(correos)):
        for mid, rp in conn.execute(
            select(alcances.c.medio_id, alcances.c.rp)
            .where(alcances.c.medio_id.in_(part), alcances.c.rp.is_not(None))
            .order_by(alcances.c.medio_id, alcances.c.rp)
        ):
            correos[mid].rps.append(rp)


def backoff(settings: Settings, attempt: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with "equal jitter": between half and all of ``base * 2**(n-1)``."""
    ceiling = min(
        settings.send_backoff_seconds * 2 ** max(0, attempt - 1), MAX_BACKOFF.total_seconds()
    )
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


@dataclass(slots=True)
class Outcome:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def record(
    conn: Connection,
    settings: Settings,
    results: Sequence[tuple[Due, DeliveryError | None]],
    now: datetime,
) -> Outcome:
    """Phase (c): store each row's outcome (``None`` = accepted) in the caller's transaction."""
    out = Outcome()
    sent: list[Due] = []
    for row, error in results:
        attempt = row.intentos + 1
        if error is None:
            sent.append(row)
            continue
        permanent = isinstance(error, PermanentDeliveryError)
        reason = error.message
        if not permanent and attempt >= settings.send_max_attempts:
            permanent = True
            reason = f"{reason} (tras {attempt} intentos)"
        if permanent:
            out.failed += 1
            _failed(conn, row, attempt, reason, now)
            continue
        out.retried += 1
        wait = backoff(settings, attempt)
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row.id, outbox.c.estado == "pendiente")
            .values(intentos=attempt, proximo_intento=now + wait, error=reason)
        )
    if sent:
        out.sent += len(sent)
        _sent(conn, settings, sent, now)
    return out


def _sent(conn: Connection, settings: Settings, rows: list[Due], now: datetime) -> None:
    conn.execute(
        _OUTBOX_SENT, [{"b_oid": r.id, "b_now": now, "b_attempt": r.intentos + 1} for r in rows]
    )
    verificados = [r for r in rows if r.tipo == "verificacion"]
    enviar(conn, settings, verificados, now)


# Built once: the success path runs for every message. Bind names differ from column names
# (SQLAlchemy reserves those in SET).
_OUTBOX_SENT = (
    update(outbox)
    .where(outbox.c.id == _b("b_oid"), outbox.c.estado == "pendiente")
    .values(estado="enviado", enviado_en=_b("b_now"), intentos=_b("b_attempt"), error=None)
)


def enviar(conn: Connection, settings: Settings, rows: list[Due], now: datetime) -> list[int]:
    """The accepted-send transition (``registry.transitions.ENVIAR``) of verification rows: a
    compare-and-set on the state read in phase (a) under the dispatcher lock and on the send
    still being the medium's live one; a medium that moved on meanwhile (baja, resend) is left
    alone and gets no audit row. Returns the media moved. The new deadline follows
    :func:`registry.ventanas.plazo_envio` (an email's first send keeps its registration window)."""
    horas = settings.validity_hours
    mecanismo = {"correo": "correo", "sms": "telefono"}
    vence = [plazo_envio(mecanismo[r.canal], r.envios, r.vence_en, now, horas) for r in rows]
    return transitions.mover(
        conn,
        ENVIAR,
        [r.medio_id for r in rows],
        now=now,
        origen=[f"comando:send:outbox={r.id}" for r in rows],
        de=[r.medio_estado for r in rows],
        valores={"enviado_en": now, "vence_en": vence},
        vigentes=[r.id for r in rows],
        fresco=False,
    )


def _failed(conn: Connection, row: Due, attempt: int, reason: str, now: datetime) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.id == row.id, outbox.c.estado == "pendiente")
        .values(estado="fallido", intentos=attempt, error=reason)
    )
    live = _live(conn, [row] if row.tipo == "verificacion" else [])
    if live:
        transitions.mover(
            conn,
            NO_ENTREGAR,
            sorted(live),
            now=now,
            origen=f"comando:send:outbox={row.id}",
            detalle=reason,
            valores={"motivo": reason},
        )


def _live(conn: Connection, rows: list[Due]) -> dict[int, int]:
    """``{medio_id: outbox_id}`` for rows whose send is still the medium's live one.

    A medium re-sent meanwhile (``buzon resend``) points at a newer outbox row: the outcome of
    the older message must not move it.
    """
    if not rows:
        return {}
    wanted = {r.medio_id: r.id for r in rows}
    live: dict[int, int] = {}
    for part in batches(sorted(wanted)):
        for mid, vigente in conn.execute(
            select(medios.c.id, medios.c.envio_vigente).where(medios.c.id.in_(part))
        ):
            if vigente == wanted[mid]:
                live[mid] = vigente
    return live


def pending_count(conn: Connection) -> int:
    return conn.execute(
        select(func.count()).select_from(outbox).where(outbox.c.estado == "pendiente")
    ).scalar_one()
