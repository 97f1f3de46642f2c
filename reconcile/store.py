"""The store side of reconciliation: reads, the event log and what acuses need (kept apart from
:mod:`reconcile.rules` so the rules stay pure). State changes go through
:mod:`registry.transitions`.

Raw driver SQL with ``executemany`` for the million-row paths (dialect helpers from
:mod:`registry.sql`): SQLAlchemy's per-row bind processing and the compilation of 10,000-element
``IN`` lists would dominate. Instants are written as UTC (:mod:`registry.clock`).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import repeat

import polars as pl
from sqlalchemy import Connection

from delivery.secrets import Digests
from registry.sql import IN_MAX, cursor, instant, is_sqlite, ph, select_in

_SQLITE_TS = "%Y-%m-%d %H:%M:%S%.6f"  # registry.clock.SQLITE_FORMAT in polars' spelling
_SMALL = 2000  # below this many events, load only the media they touch
ROWS_PER_WRITE = 50_000  # rows built per executemany: bounds the Python tuples held at once
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
    "vence_en": pl.Datetime("us", "UTC"),
    "intentos_fallidos": pl.Int64,
}


def lock(conn: Connection) -> None:
    """Serialise event application (web, webhooks, reconcile) for the transaction.

    SQLite already holds the write lock from ``BEGIN IMMEDIATE``; PostgreSQL takes an advisory lock,
    so a wrong-code count can never be read by two appliers at once.
    """
    if not is_sqlite(conn):
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")


@contextmanager
def cache_grande(conn: Connection, big: bool) -> Iterator[None]:
    """A large SQLite page cache for a bulk import (restored after).

    A million-line import dirties hundreds of MB of pages (event log, its hash index, media, audit
    rows); with the default 2 MB cache they would be written out and read back while the
    transaction runs. A large import commits one chunk of media at a time, and the cache is
    process memory: on the reconcile benchmark 256 MiB cost the same CPU as 1 GiB (46.9 against
    46.7 s) with a peak RSS of 1.21 GB instead of 1.35 GB.
    """
    if not (big and is_sqlite(conn)):
        yield
        return
    prev = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(prev)}")


def ts_values(conn: Connection, s: pl.Series) -> list:
    """A column of instants as raw statements bind them (UTC; see :mod:`registry.clock`)."""
    if is_sqlite(conn):
        return s.dt.convert_time_zone("UTC").dt.strftime(_SQLITE_TS).to_list()
    return s.to_list()


def hashes_existentes(conn: Connection, ev: pl.DataFrame) -> pl.Series:
    """The batch's content hashes already in ``eventos``.

    Small batches and large logs probe the unique hash index in sorted ``IN`` lists; a large
    batch against a log not much larger than itself reads every hash (one pass over the index)
    and compares in polars, which is cheaper than a million probes.
    """
    cur = cursor(conn)
    if ev.height > IN_MAX:
        cur.execute("SELECT max(id) FROM eventos")  # ids only grow: a cheap bound on the count
        if (cur.fetchone()[0] or 0) <= 4 * ev.height:
            cur.execute("SELECT hash FROM eventos")
            return pl.Series("hash", [r[0] for r in cur.fetchall()], dtype=pl.String)
    rows = select_in(conn, "SELECT hash FROM eventos WHERE hash IN ({inn})", ev["hash"].sort())
    return pl.Series("hash", [r[0] for r in rows], dtype=pl.String)


def _frame(rows: list, schema: dict) -> pl.DataFrame:
    """Driver rows -> a frame of ``schema`` (built by polars from the rows: a Python transpose of
    300,000 media cost twice as much). SQLite gives instants as text, PostgreSQL as datetimes."""
    pos = {name: i for i, name in enumerate(schema)}
    texto = [
        name
        for name, dtype in schema.items()
        if dtype == pl.Datetime("us", "UTC")
        and isinstance(next((r[pos[name]] for r in rows if r[pos[name]] is not None), None), str)
    ]
    crudo = {name: pl.String if name in texto else dtype for name, dtype in schema.items()}
    return (
        pl.DataFrame(rows, schema=crudo, orient="row")
        .with_columns(
            *(
                pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_zone="UTC", strict=False)
                for name in texto
            )
        )
        .with_columns(pl.col("vence_en").dt.cast_time_unit("us"))
    )


def _medios(conn: Connection, where: str = "", params: tuple = ()) -> pl.DataFrame:
    cur = cursor(conn)
    cur.execute(f"SELECT {_MEDIO_COLS} FROM medios {where}", params)
    return _frame(cur.fetchall(), _MEDIO_SCHEMA)


def _medios_tocados(conn: Connection, ev: pl.DataFrame, ob: pl.DataFrame) -> pl.DataFrame:
    th = ev["token_hash"].drop_nulls().unique().to_list()
    rfcs = ev.filter(pl.col("tipo") == "codigo_sms")["rfc"].unique().to_list()
    ids = ob["ob_medio"].unique().to_list()
    conds, params = [], []
    for name, vals in (("secreto_hash", th), ("id", ids)):
        if vals:
            conds.append(f"{name} IN ({','.join([ph(conn)] * len(vals))})")
            params += vals
    if rfcs:
        conds.append(f"(rfc IN ({','.join([ph(conn)] * len(rfcs))}) AND mecanismo = 'telefono')")
        params += rfcs
    if not conds:
        return _frame([], _MEDIO_SCHEMA)
    return _medios(conn, "WHERE " + " OR ".join(conds), tuple(params))


def token_hashes(key: bytes, ev: pl.DataFrame) -> pl.Series:
    """The digest of each event's link token (null where it has none)."""
    h = Digests(key)
    return pl.Series(
        "token_hash", [None if t is None else h.token(t) for t in ev["token"].to_list()], pl.String
    )


def leer_medios(conn: Connection) -> pl.DataFrame:
    """Every medium, as :func:`preparar` reads them (pass it as ``medios`` to resolve slices)."""
    return _medios(conn)


def preparar(
    conn: Connection,
    key: bytes,
    ev: pl.DataFrame,
    *,
    con_codigos: bool = True,
    medios: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Digest secrets, resolve each event's medium and outbox row; return ``(prep, medios)``.

    A ``token_hash`` column already in ``ev`` is reused. ``con_codigos=False`` only resolves the
    media (splitting an import into chunks): no code digests, no ``coincide`` column. ``medios``:
    every medium (:func:`leer_medios`), read once by a caller that resolves in slices.
    """
    h = Digests(key)
    if "token_hash" not in ev.columns:
        ev = ev.with_columns(token_hashes(key, ev))
    refs = ev.filter(pl.col("tipo") == "entrega")["referencia"].unique().drop_nulls()
    ob_schema = {"referencia": pl.Int64, "ob_medio": pl.Int64, "outbox_tipo": pl.String}
    if refs.len() > IN_MAX and refs.max() - refs.min() < 4 * refs.len():  # type: ignore[operator]
        # Receipts for a whole campaign: one range scan instead of hundreds of IN lists.
        cur = cursor(conn)
        p = ph(conn)
        cur.execute(
            f"SELECT id, medio_id, tipo FROM outbox WHERE id >= {p} AND id <= {p}",
            (refs.min(), refs.max()),
        )
        ob = pl.DataFrame(cur.fetchall(), schema=ob_schema, orient="row").filter(
            pl.col("referencia").is_in(refs.implode())
        )
    else:
        ob = pl.DataFrame(
            select_in(conn, "SELECT id, medio_id, tipo FROM outbox WHERE id IN ({inn})", refs),
            schema=ob_schema,
            orient="row",
        )
    if medios is not None:
        med = medios
    else:
        med = _medios(conn) if ev.height > _SMALL else _medios_tocados(conn, ev, ob)
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
    if not con_codigos:
        return ev, med
    # Code digests only for the code entries that reached a medium (not a loop over every event).
    sms = ev.filter((pl.col("tipo") == "codigo_sms") & pl.col("medio_id").is_not_null())
    code_hash: list[str] = []
    coincide: list[bool] = []
    for mid, code, vivo in zip(
        sms["medio_id"].to_list(), sms["codigo"].to_list(), sms["vivo"].to_list(), strict=True
    ):
        dig = h.code(mid, code)
        code_hash.append(dig)
        # Constant time, so response timing says nothing about how much of a code was right.
        coincide.append(vivo is not None and hmac.compare_digest(dig, vivo))
    digests = pl.DataFrame(
        {
            "seq": sms["seq"],
            "codigo_hash": pl.Series(code_hash, dtype=pl.String),
            "c_sms": pl.Series(coincide, dtype=pl.Boolean),
        }
    )
    ev = (
        ev.join(digests, on="seq", how="left")
        .with_columns(
            coincide=pl.when(pl.col("tipo") == "codigo_sms")
            .then(pl.col("c_sms").fill_null(False))
            .otherwise((pl.col("tipo") == "confirmacion_correo") & pl.col("medio_id").is_not_null())
        )
        .drop("token", "codigo", "t_medio", "s_medio", "ob_medio", "vivo", "c_sms")
        .sort("seq")
    )
    med = med.with_columns(con_secreto=pl.col("secreto_hash").is_not_null())
    return ev, med


def datos_evento() -> pl.Expr:
    """What an event said, as compact JSON: only its kind's fields (codes and tokens as digests)."""
    tipo = pl.col("tipo")
    return (
        pl.when(tipo == "confirmacion_correo")
        .then(pl.struct("token_hash").struct.json_encode())
        .when(tipo == "codigo_sms")
        .then(pl.struct("rfc", "telefono", "codigo_hash").struct.json_encode())
        .when(tipo == "entrega")
        .then(pl.struct("referencia", "estado", "motivo").struct.json_encode())
        .otherwise(
            pl.struct(
                "token_hash", "rfc", "telefono", "codigo_hash", "referencia", "estado", "motivo"
            ).struct.json_encode()
        )
        .alias("datos")
    )


def insertar_eventos(conn: Connection, d: pl.DataFrame, now: datetime) -> None:
    """Append the decided events (codes and tokens only as digests) with their outcome.

    Rows go in content-hash order: the unique hash index then grows by near-sequential inserts
    instead of one random B-tree descent per row (about a third of the cost of a million-line
    import). Time order is in ``fecha``, not in ``id``.
    """
    p = ph(conn)
    sql = (
        "INSERT INTO eventos (hash, tipo, origen, fecha, recibido_en, medio_id, datos, aplicado,"
        f" resultado) VALUES ({','.join([p] * 9)})"
    )
    recibido = instant(conn, now)
    cur = cursor(conn)
    d = d.sort("hash")
    for start in range(0, d.height, ROWS_PER_WRITE):
        part = d.slice(start, ROWS_PER_WRITE).with_columns(
            datos_evento(), pl.col("origen").str.slice(0, 200)
        )
        cur.executemany(
            sql,
            zip(
                part["hash"].to_list(),
                part["tipo"].to_list(),
                part["origen"].to_list(),
                ts_values(conn, part["fecha"]),
                repeat(recibido, part.height),
                part["medio_id"].to_list(),
                part["datos"].to_list(),
                repeat(True, part.height),
                part["resultado"].to_list(),
                strict=True,
            ),
        )


def datos_acuse(conn: Connection, ids: Sequence[int]) -> dict[int, dict]:
    """What an acuse de validación says about each medium (those with a particular)."""
    info = {
        r[0]: {"rfc": r[1], "mecanismo": r[2], "medio": r[3], "nombre": r[4], "rps": []}
        for r in select_in(
            conn,
            "SELECT m.id, m.rfc, m.mecanismo, m.valor, p.nombre FROM medios m"
            " JOIN particulares p ON p.rfc = m.rfc WHERE m.id IN ({inn})",
            ids,
        )
    }
    for mid, rp in select_in(
        conn, "SELECT medio_id, rp FROM alcances WHERE medio_id IN ({inn}) AND rp IS NOT NULL", ids
    ):
        if mid in info:
            info[mid]["rps"].append(rp)
    return info


def archivo_importado(conn: Connection, huella: str) -> int | None:
    """How many events the already imported file with this digest had, or ``None`` if it was
    never wholly imported (see ``registry.tables.archivos_eventos``)."""
    cur = cursor(conn)
    cur.execute(f"SELECT eventos FROM archivos_eventos WHERE huella = {ph(conn)}", (huella,))
    row = cur.fetchone()
    return None if row is None else int(row[0])


def registrar_archivos(
    conn: Connection, archivos: Sequence[tuple[str, str, int]], now: datetime
) -> None:
    """Record ``(huella, nombre, eventos)`` of wholly imported files, in the transaction of the
    import's last chunk (a file imported twice at once, or by two runs, is recorded once)."""
    if not archivos:
        return
    p = ph(conn)
    cursor(conn).executemany(
        "INSERT INTO archivos_eventos (huella, nombre, eventos, importado_en)"
        f" VALUES ({p},{p},{p},{p}) ON CONFLICT (huella) DO NOTHING",
        [(h, n[:255], e, instant(conn, now)) for h, n, e in archivos],
    )
