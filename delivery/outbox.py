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

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, func, insert, select, update

from buzon.errors import DeliveryError, PermanentDeliveryError
from buzon.settings import Settings
from delivery import secrets as sec
from registry import audit
from registry.cambios import cambiar_estado
from registry.sql import batches
from registry.states import Estado, origenes
from registry.tables import alcances, medios, outbox, particulares
from registry.ventanas import vence_al_enviar

VERIFICABLES = (Estado.REGISTRADO.value, Estado.ENVIADO.value)
CANAL_POR_MECANISMO = {"correo": "correo", "telefono": "sms"}
MAX_BACKOFF = timedelta(hours=6)


def queue(conn: Connection, rows: Iterable[Mapping], *, now: datetime) -> int:
    """Insert outbox rows; each needs ``medio_id``, ``tipo`` ('verificacion' | 'confirmacion'),
    and ``canal`` + ``destino`` or the medium's ``mecanismo`` + ``valor``. Returns the count."""
    values = []
    for row in rows:
        canal = row.get("canal") or CANAL_POR_MECANISMO[row["mecanismo"]]
        values.append(
            {
                "medio_id": row["medio_id"],
                "tipo": row["tipo"],
                "canal": canal,
                "destino": row.get("destino") or row["valor"],
                "estado": "pendiente",
                "intentos": 0,
                "proximo_intento": row.get("proximo_intento") or now,
                "creado_en": now,
            }
        )
    if values:
        conn.execute(insert(outbox), values)
    return len(values)


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
        conn.execute(
            update(medios)
            .where(medios.c.id == _b("mid"))
            .values(secreto_hash=_b("digest"), envio_vigente=_b("oid")),
            armed,
        )
    return due, seen


_b = bindparam


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


# Built once: the success path runs for every message, and building statements costs more than
# executing them. Bind names differ from column names (SQLAlchemy reserves those in SET).
_OUTBOX_SENT = (
    update(outbox)
    .where(outbox.c.id == _b("b_oid"), outbox.c.estado == "pendiente")
    .values(estado="enviado", enviado_en=_b("b_now"), intentos=_b("b_attempt"), error=None)
)
# The guarded transition registrado|enviado -> enviado, as a compare-and-set on the state read in
# phase (a) under the dispatcher lock, and on the send still being the medium's live one.
_MEDIO_SENT = (
    update(medios)
    .where(
        medios.c.id == _b("b_mid"),
        medios.c.estado == _b("b_de"),
        medios.c.envio_vigente == _b("b_oid"),
    )
    .values(
        estado=Estado.ENVIADO.value,
        enviado_en=_b("b_now"),
        vence_en=vence_al_enviar(_b("b_vence")),
        envios=medios.c.envios + 1,
        intentos_fallidos=0,
        actualizado_en=_b("b_now"),
    )
)
_ENVIADO_DESDE = {e.value for e in origenes(Estado.ENVIADO)}


def _sent(conn: Connection, settings: Settings, rows: list[Due], now: datetime) -> None:
    conn.execute(
        _OUTBOX_SENT, [{"b_oid": r.id, "b_now": now, "b_attempt": r.intentos + 1} for r in rows]
    )
    vence = now + timedelta(hours=settings.validity_hours)
    params = [
        {"b_mid": r.medio_id, "b_de": r.medio_estado, "b_oid": r.id, "b_now": now, "b_vence": vence}
        for r in rows
        if r.tipo == "verificacion" and r.medio_estado in _ENVIADO_DESDE
    ]
    if not params:
        return
    moved = params
    if conn.execute(_MEDIO_SENT, params).rowcount != len(params):
        # Some medium moved on meanwhile (baja, resend): find out which ones did move.
        ids = [p["b_mid"] for p in params]
        estado = {
            mid: (e, v)
            for mid, e, v in conn.execute(
                select(medios.c.id, medios.c.estado, medios.c.envio_vigente).where(
                    medios.c.id.in_(ids)
                )
            )
        }
        moved = [p for p in params if estado[p["b_mid"]] == (Estado.ENVIADO.value, p["b_oid"])]
    audit.registrar(
        conn,
        (
            audit.fila(
                "medio",
                p["b_mid"],
                p["b_de"],
                Estado.ENVIADO,
                origen=f"comando:send:outbox={p['b_oid']}",
                en=now,
            )
            for p in moved
        ),
    )


def _failed(conn: Connection, row: Due, attempt: int, reason: str, now: datetime) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.id == row.id, outbox.c.estado == "pendiente")
        .values(estado="fallido", intentos=attempt, error=reason)
    )
    live = _live(conn, [row] if row.tipo == "verificacion" else [])
    if live:
        cambiar_estado(
            conn,
            live,
            Estado.NO_ENTREGADO,
            origen=f"comando:send:outbox={row.id}",
            now=now,
            detalle=reason,
            motivo=reason,
            aclaracion=True,
            secreto_hash=None,
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
