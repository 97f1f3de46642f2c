"""The reads and bulk writes behind :mod:`registry.reconcile` (kept apart so the rules stay pure).

Raw driver SQL with ``executemany`` for the million-row paths: SQLAlchemy's per-row bind processing
would dominate. Instants are written as UTC (SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff``, the format
SQLAlchemy itself uses; PostgreSQL: aware datetimes).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, func, select

from buzon.settings import Settings
from registry.sql import batches
from registry.tables import alcances, medios, particulares

_SQLITE_TS = "%Y-%m-%d %H:%M:%S%.6f"
_SMALL = 2000  # below this many events, load only the media they touch
_MEDIO_COLS = (
    "id, rfc, mecanismo, valor, estado, secreto_hash, envio_vigente, vence_en, intentos_fallidos"
)
_MEDIO_SCHEMA = {
    "id": pl.Int64,
    "rfc": pl.String,
    "mecanismo": pl.String,
    "valor": pl.String,
    "estado": pl.String,
    "secreto_hash": pl.String,
    "envio_vigente": pl.Int64,
    "vence_en": pl.Object,
    "intentos_fallidos": pl.Int64,
}


def _ph(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def lock(conn: Connection) -> None:
    """Serialise event application (web, webhooks, reconcile) for the transaction.

    SQLite already holds the write lock from ``BEGIN IMMEDIATE``; PostgreSQL takes an advisory lock,
    so a wrong-code count can never be read by two appliers at once.
    """
    if not _sqlite(conn):
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")


def ts_values(conn: Connection, s: pl.Series) -> list:
    if _sqlite(conn):
        return s.dt.convert_time_zone("UTC").dt.strftime(_SQLITE_TS).to_list()
    return s.to_list()


def _ts_param(conn: Connection, now: datetime):  # noqa: ANN202
    return now.strftime("%Y-%m-%d %H:%M:%S.%f") if _sqlite(conn) else now


def hashes_existentes(conn: Connection, hashes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in batches(list(hashes)):
        marks = ",".join([_ph(conn)] * len(part))
        rows = conn.exec_driver_sql(
            f"SELECT hash FROM eventos WHERE hash IN ({marks})", tuple(part)
        )
        found.update(r[0] for r in rows)
    return found


def _frame(rows: list, schema: dict) -> pl.DataFrame:
    df = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    col = df["vence_en"]
    if col.dtype == pl.Object:
        vals = col.to_list()
        if any(isinstance(v, str) for v in vals):
            parsed = pl.Series(vals, dtype=pl.String).str.to_datetime(
                "%Y-%m-%d %H:%M:%S%.f", time_zone="UTC", strict=False
            )
        else:
            parsed = pl.Series(vals, dtype=pl.Datetime("us", "UTC"))
        df = df.with_columns(vence_en=parsed.dt.cast_time_unit("us"))
    return df


def _medios(conn: Connection, where: str = "", params: tuple = ()) -> pl.DataFrame:
    rows = conn.exec_driver_sql(f"SELECT {_MEDIO_COLS} FROM medios {where}", params).fetchall()
    return _frame(rows, _MEDIO_SCHEMA)


def preparar(conn: Connection, key: bytes, ev: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Digest secrets, resolve each event's medium and outbox row; return ``(prep, medios)``."""
    from callbacks.events import Hasher
    from delivery.secrets import _DIGEST_CODE, _DIGEST_TOKEN

    h = Hasher(key)
    tokens = ev["token"].to_list()
    ev = ev.with_columns(
        token_hash=pl.Series(
            [None if t is None else h.hexdigest(_DIGEST_TOKEN + t.encode()) for t in tokens],
            dtype=pl.String,
        )
    )
    refs = ev.filter(pl.col("tipo") == "entrega")["referencia"].unique().drop_nulls().to_list()
    ob_rows: list = []
    for part in batches(refs):
        marks = ",".join([_ph(conn)] * len(part))
        ob_rows += conn.exec_driver_sql(
            f"SELECT id, medio_id, tipo FROM outbox WHERE id IN ({marks})", tuple(part)
        ).fetchall()
    ob = pl.DataFrame(
        [tuple(r) for r in ob_rows],
        schema={"referencia": pl.Int64, "ob_medio": pl.Int64, "outbox_tipo": pl.String},
        orient="row",
    )
    if ev.height > _SMALL:
        med = _medios(conn)
    else:
        th = ev["token_hash"].drop_nulls().unique().to_list()
        rfcs = ev.filter(pl.col("tipo") == "codigo_sms")["rfc"].unique().to_list()
        ids = ob["ob_medio"].unique().to_list()
        conds, params = [], []
        for name, vals in (("secreto_hash", th), ("id", ids)):
            if vals:
                conds.append(f"{name} IN ({','.join([_ph(conn)] * len(vals))})")
                params += vals
        if rfcs:
            marks = ",".join([_ph(conn)] * len(rfcs))
            conds.append(f"(rfc IN ({marks}) AND mecanismo = 'telefono')")
            params += rfcs
        med = _medios(conn, "WHERE " + " OR ".join(conds), tuple(params)) if conds else None
        if med is None:
            med = _frame([], _MEDIO_SCHEMA)
    por_token = (
        med.filter(pl.col("secreto_hash").is_not_null() & (pl.col("mecanismo") == "correo"))
        .select(pl.col("secreto_hash").alias("token_hash"), pl.col("id").alias("t_medio"))
        .unique("token_hash")
    )
    rank = pl.col("estado").replace_strict(
        {"enviado": 0, "validado": 1, "registrado": 2}, default=3, return_dtype=pl.Int64
    )
    por_tel = (
        med.filter(pl.col("mecanismo") == "telefono")
        .sort(rank, -pl.col("id"))
        .unique(["rfc", "valor"], keep="first")
        .select("rfc", pl.col("valor").alias("telefono"), pl.col("id").alias("s_medio"))
    )
    ev = (
        ev.join(por_token, on="token_hash", how="left")
        .join(por_tel, on=["rfc", "telefono"], how="left")
        .join(ob, on="referencia", how="left")
        .with_columns(
            medio_id=pl.when(pl.col("tipo") == "confirmacion_correo")
            .then(pl.col("t_medio"))
            .when(pl.col("tipo") == "codigo_sms")
            .then(pl.col("s_medio"))
            .otherwise(pl.col("ob_medio"))
        )
        .join(
            med.select(pl.col("id").alias("medio_id"), pl.col("secreto_hash").alias("vivo")),
            on="medio_id",
            how="left",
        )
        .sort("seq")
    )
    sms = ev["tipo"].to_list()
    mids, codes, vivos = ev["medio_id"].to_list(), ev["codigo"].to_list(), ev["vivo"].to_list()
    code_hash: list[str | None] = []
    coincide: list[bool] = []
    for tipo, mid, code, vivo in zip(sms, mids, codes, vivos, strict=True):
        if tipo == "codigo_sms" and mid is not None:
            dig = h.hexdigest(_DIGEST_CODE + f"{mid}\x00{code}".encode())
            code_hash.append(dig)
            # Constant time, so response timing says nothing about how much of a code was right.
            coincide.append(vivo is not None and hmac.compare_digest(dig, vivo))
        else:
            code_hash.append(None)
            coincide.append(tipo == "confirmacion_correo" and mid is not None)
    ev = ev.with_columns(
        codigo_hash=pl.Series(code_hash, dtype=pl.String),
        coincide=pl.Series(coincide, dtype=pl.Boolean),
    ).drop("token", "codigo", "t_medio", "s_medio", "ob_medio", "vivo")
    med = med.with_columns(con_secreto=pl.col("secreto_hash").is_not_null())
    return ev, med


def insertar_eventos(conn: Connection, d: pl.DataFrame, now: datetime) -> None:
    """Append the decided events (codes and tokens only as digests) with their outcome."""
    datos = d.select(
        pl.struct(
            "token_hash", "rfc", "telefono", "codigo_hash", "referencia", "estado", "motivo"
        ).struct.json_encode()
    ).to_series()
    cols = [
        d["hash"].to_list(),
        d["tipo"].to_list(),
        d["origen"].str.slice(0, 200).to_list(),
        ts_values(conn, d["fecha"]),
        [_ts_param(conn, now)] * d.height,
        d["medio_id"].to_list(),
        datos.to_list(),
        [True] * d.height,
        d["resultado"].to_list(),
    ]
    marks = ",".join([_ph(conn)] * len(cols))
    sql = (
        "INSERT INTO eventos (hash, tipo, origen, fecha, recibido_en, medio_id, datos, aplicado,"
        f" resultado) VALUES ({marks})"
    )
    rows = list(zip(*cols, strict=True))
    for start in range(0, len(rows), 100_000):
        conn.exec_driver_sql(sql, rows[start : start + 100_000])


def fijar(conn: Connection, col: str, ids: list[int], fechas: pl.Series) -> None:
    if ids:
        sql = f"UPDATE medios SET {col} = {_ph(conn)} WHERE id = {_ph(conn)}"
        conn.exec_driver_sql(sql, list(zip(ts_values(conn, fechas), ids, strict=True)))


def fijar_texto(conn: Connection, col: str, ids: list[int], values: list) -> None:
    if ids:
        sql = f"UPDATE medios SET {col} = {_ph(conn)} WHERE id = {_ph(conn)}"
        conn.exec_driver_sql(sql, list(zip(values, ids, strict=True)))


def sumar_intentos(conn: Connection, fallos: pl.DataFrame, maximo: int, now: datetime) -> int:
    """Add wrong codes to each medium; the code dies (digest cleared) when it reaches ``maximo``."""
    from registry import audit

    p = _ph(conn)
    # Relative update: the count lives in the database, so limits hold across restarts.
    sql = (
        f"UPDATE medios SET intentos_fallidos = intentos_fallidos + {p},"
        f" secreto_hash = CASE WHEN intentos_fallidos + {p} >= {p} THEN NULL ELSE secreto_hash END"
        f" WHERE id = {p} AND estado = 'enviado'"
    )
    ids, ns = fallos["medio_id"].to_list(), fallos["n"].to_list()
    conn.exec_driver_sql(sql, [(n, n, maximo, i) for i, n in zip(ids, ns, strict=True)])
    muertos: list[int] = []
    for part in batches(ids):
        muertos += conn.execute(
            select(medios.c.id).where(
                medios.c.id.in_(part),
                medios.c.intentos_fallidos >= maximo,
                medios.c.secreto_hash.is_(None),
                medios.c.estado == "enviado",
            )
        ).scalars()
    origen = dict(zip(ids, fallos["origen"].to_list(), strict=True))
    audit.registrar(
        conn,
        (
            audit.fila(
                "medio",
                m,
                "enviado",
                "enviado",
                origen=origen[m],
                en=now,
                detalle=f"{maximo} códigos incorrectos: código inválido, se requiere reenvío",
            )
            for m in muertos
        ),
    )
    return len(muertos)


def emitir_validaciones(
    conn: Connection, settings: Settings, ids: list[int], fechas: pl.DataFrame, now: datetime
) -> list[str]:
    """An acuse de validación per validated medium, and its confirmation message queued."""
    from registry.acuses import emitir

    cuando = dict(zip(fechas["medio_id"].to_list(), fechas["fecha"].to_list(), strict=True))
    info: dict[int, dict] = {}
    for part in batches(ids):
        q = (
            select(
                medios.c.id, medios.c.rfc, medios.c.mecanismo, medios.c.valor, particulares.c.nombre
            )
            .join(particulares, particulares.c.rfc == medios.c.rfc)
            .where(medios.c.id.in_(part))
        )
        for r in conn.execute(q):
            info[r.id] = {
                "rfc": r.rfc,
                "mecanismo": r.mecanismo,
                "medio": r.valor,
                "nombre": r.nombre,
            }
        rps = (
            select(alcances.c.medio_id, func.group_concat(alcances.c.rp).label("rps"))
            if _sqlite(conn)
            else select(alcances.c.medio_id, func.string_agg(alcances.c.rp, ",").label("rps"))
        )
        rps = rps.where(alcances.c.medio_id.in_(part), alcances.c.rp.is_not(None)).group_by(
            alcances.c.medio_id
        )
        for r in conn.execute(rps):
            info[r.medio_id]["rps"] = r.rps
    orden = sorted(info)
    acuses = [
        dict(info[m], tipo="validacion", estado="validado", medio_id=m, fecha=cuando.get(m, now))
        for m in orden
    ]
    folios = emitir(conn, settings, acuses, now=now)
    _queue_confirmaciones(conn, [(m, info[m]["mecanismo"], info[m]["medio"]) for m in orden], now)
    return folios


def _queue_confirmaciones(
    conn: Connection, media: list[tuple[int, str, str]], now: datetime
) -> None:
    from delivery.outbox import queue

    rows = [
        {"medio_id": m, "tipo": "confirmacion", "mecanismo": mec, "valor": v} for m, mec, v in media
    ]
    queue(conn, rows, now=now)
