"""Helpers for registry tests: entry frames, valid RPs, sello verification."""

from __future__ import annotations

import base64

import polars as pl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

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
