"""Helpers for registry tests: entry frames, valid RPs, sello verification."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import polars as pl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import Connection, func, insert, select

from buzon.settings import Settings
from registry.tables import alcances, medios, particulares
from signers.seal import Sello

SCHEMA = {
    "rfc": pl.String,
    "nombre": pl.String,
    "rp": pl.String,
    "mecanismo": pl.String,
    "medio": pl.String,
    "archivo": pl.String,
    "hoja": pl.String,
    "fila": pl.Int64,
}


def rp_valido(prefijo: str, serie: int) -> str:
    """A Registro Patronal with a correct check digit (Luhn over the expanded first 10 chars)."""
    from schemas.registro_patronal import calc_check_digit

    base = f"{prefijo}{serie:05d}10"
    return base + calc_check_digit(base)


def frame(rows: list[tuple]) -> pl.DataFrame:
    """Entries from (rfc, rp, mecanismo, medio) tuples, with provenance rows 2, 3, ..."""
    data = [
        {
            "rfc": rfc,
            "nombre": f"Empresa {rfc}",
            "rp": rp,
            "mecanismo": mec,
            "medio": medio,
            "archivo": "carga.xlsx",
            "hoja": "Hoja1",
            "fila": i + 2,
        }
        for i, (rfc, rp, mec, medio) in enumerate(rows)
    ]
    return pl.DataFrame(data, schema=SCHEMA)


def verifica(sello: Sello, cadena: str, firma: str) -> bool:
    try:
        sello.certificate.public_key().verify(  # type: ignore[call-arg]
            base64.b64decode(firma), cadena.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except Exception:
        return False
    return True


SEED_NOW = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)
LISTO = [("correo", "validado", None), ("telefono", "validado", None)]


def seed(conn: Connection, spec: dict[str, list[tuple[str, str, str | None]]]) -> None:
    """Particulares and media: ``{rfc: [(mecanismo, estado, rp or None), ...]}``."""
    then = SEED_NOW - timedelta(days=2)
    start = conn.execute(select(func.coalesce(func.max(medios.c.id), 0))).scalar_one()
    conn.execute(
        insert(particulares),
        [{"rfc": r, "nombre": f"Empresa {r}", "creado_en": then} for r in spec],
    )
    filas_m, filas_a = [], []
    n = start
    for rfc, items in spec.items():
        for mecanismo, estado, rp in items:
            n += 1
            valor = f"{rfc.lower()}{n}@x.mx" if mecanismo == "correo" else f"55{n:08d}"
            filas_m.append(
                {
                    "id": n,
                    "rfc": rfc,
                    "mecanismo": mecanismo,
                    "valor": valor,
                    "estado": estado,
                    "folio": f"BI-20250227-{n:09d}",
                    "creado_en": then,
                    "actualizado_en": then,
                }
            )
            filas_a.append({"medio_id": n, "rfc": rfc, "rp": rp, "creado_en": then})
    if filas_m:
        conn.execute(insert(medios), filas_m)
        conn.execute(insert(alcances), filas_a)


def cli_env(s: Settings, **extra: str) -> dict[str, str]:
    """The environment a CLI test passes to CliRunner: the same store, seal and instant."""
    env = {
        "BUZON_HOME": str(s.home),
        "BUZON_NOW": (s.now or SEED_NOW).isoformat(),
        "BUZON_SEAL_KEY": str(s.seal_key),
        "BUZON_SEAL_CERT": str(s.seal_cert),
    }
    if s.database_url:
        env["BUZON_DATABASE_URL"] = s.database_url
    return env | extra
