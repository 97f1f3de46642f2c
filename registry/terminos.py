"""The exact Terms and Conditions texts signed, stored once per text (``terminos_textos``).

A T&C acuse seals the text's SHA-256 (cadena field ``tyc_sha256``) and its row keeps the same
digest in ``acuses.tyc_sha256``: the printed acuse and the bundles carry the very text signed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from buzon.errors import ConfigError
from registry.sql import insert
from registry.tables import terminos_textos
from signers.tyc import Tyc


def guardar(conn: Connection, tyc: Tyc, now: datetime) -> None:
    """Store the text once (the first request or signature of a text stores it; later ones find
    it). One version never names two texts: that is a configuration error."""
    otro = conn.execute(
        select(terminos_textos.c.sha256).where(
            terminos_textos.c.version == tyc.version, terminos_textos.c.sha256 != tyc.sha256
        )
    ).first()
    if otro is not None:
        raise ConfigError(
            f"la versión {tyc.version} de los términos ya se usó con otro texto; "
            "indique otra BUZON_TYC_VERSION"
        )
    existe = conn.execute(
        select(terminos_textos.c.sha256).where(terminos_textos.c.sha256 == tyc.sha256)
    ).first()
    if existe is None:
        conn.execute(
            insert(conn, terminos_textos).on_conflict_do_nothing(),
            [
                {
                    "sha256": tyc.sha256,
                    "version": tyc.version,
                    "origen": tyc.origen,
                    "texto": tyc.texto,
                    "creado_en": now,
                }
            ],
        )
