"""The store's schema (SQLAlchemy Core). Alembic migrations in ``registry/migrations`` build it.

Times are stored as UTC instants through one column type, :class:`Instante` (see
:mod:`registry.clock`). Secrets (verification codes, link tokens) are never
stored: only HMAC-SHA256 digests under a key kept outside the database.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)

from registry.clock import utc
from registry.states import ACTIVOS, Estado

# Stable names for constraints, so migrations are the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid


class Instante(TypeDecorator):
    """An instant: converted to UTC when bound (SQLite would otherwise store the wall time of any
    offset), returned as an aware UTC datetime. Same DDL as ``DateTime(timezone=True)``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        return None if value is None else utc(value)

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        return None if value is None else utc(value)


TS = Instante()

# The partial unique index below, from the one list of active states (in the enum's order).
ACTIVE_SQL = "estado IN ({})".format(", ".join(f"'{e}'" for e in Estado if e in ACTIVOS))

particulares = Table(
    "particulares",
    metadata,
    Column("rfc", String(13), primary_key=True),
    Column("nombre", Text, nullable=True),
    # 'pendiente' until the T&C are signed with the e.firma, then 'activado'.
    Column("estado", String(16), nullable=False, server_default="pendiente"),
    Column("activado_en", TS, nullable=True),
    Column("tyc_folio", String(24), nullable=True),
    Column("creado_en", TS, nullable=False),
)

registros_patronales = Table(
    "registros_patronales",
    metadata,
    Column("rp", String(11), primary_key=True),
    Column("rfc", String(13), ForeignKey("particulares.rfc"), nullable=False, index=True),
    Column("creado_en", TS, nullable=False),
)

medios = Table(
    "medios",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("rfc", String(13), ForeignKey("particulares.rfc"), nullable=False),
    Column("mecanismo", String(8), nullable=False),  # 'correo' | 'telefono'
    Column("valor", String(320), nullable=False),  # email lower-cased; mobile as 10 digits
    Column("estado", String(16), nullable=False),  # registry.states.Estado
    Column("folio", String(24), nullable=False, unique=True),
    Column("creado_en", TS, nullable=False),
    Column("actualizado_en", TS, nullable=False),
    # Verification: the live secret belongs to one send (outbox row); earlier ones are dead.
    Column("envios", Integer, nullable=False, server_default="0"),
    Column("envio_vigente", BigInteger, nullable=True),  # outbox.id of the live secret
    Column("enviado_en", TS, nullable=True),
    Column("vence_en", TS, nullable=True),
    Column("secreto_hash", String(64), nullable=True, index=True),  # HMAC of token/code
    Column("intentos_fallidos", Integer, nullable=False, server_default="0"),
    Column("validado_en", TS, nullable=True),
    Column("motivo", Text, nullable=True),  # delivery failure reason, cancel reason
    Column("aclaracion", Boolean, nullable=False, server_default=text("false")),
    Index("ix_medios_rfc_estado", "rfc", "estado"),
    Index("ix_medios_estado_vence", "estado", "vence_en"),
    # One active medium per (RFC, mechanism, value); terminal ones may repeat.
    Index(
        "uq_medios_activo",
        "rfc",
        "mecanismo",
        "valor",
        unique=True,
        sqlite_where=text(ACTIVE_SQL),
        postgresql_where=text(ACTIVE_SQL),
    ),
)

# A medium's scopes: rp NULL is the RFC scope, otherwise one Registro Patronal.
alcances = Table(
    "alcances",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("medio_id", BigInteger, ForeignKey("medios.id"), nullable=False),
    Column("rfc", String(13), nullable=False),
    Column("rp", String(11), nullable=True),
    Column("creado_en", TS, nullable=False),
    Index("ix_alcances_rfc_rp", "rfc", "rp"),
    Index(
        "uq_alcances_rfc",
        "medio_id",
        unique=True,
        sqlite_where=text("rp IS NULL"),
        postgresql_where=text("rp IS NULL"),
    ),
    Index(
        "uq_alcances_rp",
        "medio_id",
        "rp",
        unique=True,
        sqlite_where=text("rp IS NOT NULL"),
        postgresql_where=text("rp IS NOT NULL"),
    ),
)

acuses = Table(
    "acuses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("folio", String(24), nullable=False, unique=True),
    # 'registro' | 'actualizacion' | 'validacion' | 'baja' | 'terminos'
    Column("tipo", String(16), nullable=False),
    Column("fecha", TS, nullable=False),
    Column("rfc", String(13), nullable=False, index=True),
    Column("nombre", Text, nullable=True),
    Column("rps", Text, nullable=True),  # comma-separated, sorted
    Column("mecanismo", String(8), nullable=True),
    Column("medio", String(320), nullable=True),
    Column("estado", String(16), nullable=False),
    Column("medio_id", BigInteger, ForeignKey("medios.id"), nullable=True, index=True),
    Column("cadena_original", Text, nullable=False),
    Column("sello", Text, nullable=False),
    # T&C acuses: the particular's e.firma signature and certificate.
    Column("firma", Text, nullable=True),
    Column("numero_certificado", String(20), nullable=True),
    Column("certificado_pem", Text, nullable=True),
    # T&C acuses since cadena 3.1: the exact request bytes the firmas cover, the request folio,
    # and the legal representative's firma when one signed (jointly, or alone once designated).
    Column("cadena_firmada", Text, nullable=True),
    Column("solicitud", String(24), nullable=True),
    Column("rfc_representante", String(13), nullable=True),
    Column("firma_representante", Text, nullable=True),
    Column("numero_certificado_representante", String(20), nullable=True),
    Column("certificado_pem_representante", Text, nullable=True),
    # Cadena 4.0: a validación names the registration folio it settles; a terminos acuse points
    # at the exact text signed (terminos_textos.sha256).
    Column("folio_registro", String(24), nullable=True),
    Column("tyc_sha256", String(64), nullable=True),
)

# Folio allocation: one row holding the last folio instant handed out (ms since epoch).
folio_reloj = Table(
    "folio_reloj",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ultimo_ms", BigInteger, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("medio_id", BigInteger, ForeignKey("medios.id"), nullable=False, index=True),
    Column("tipo", String(16), nullable=False),  # 'verificacion' | 'confirmacion' | 'recordatorio'
    Column("canal", String(8), nullable=False),  # 'correo' | 'sms'
    Column("destino", String(320), nullable=False),
    # 'pendiente' -> 'enviado' | 'fallido' | 'descartado'
    Column("estado", String(16), nullable=False, server_default="pendiente"),
    Column("intentos", Integer, nullable=False, server_default="0"),
    Column("proximo_intento", TS, nullable=False),
    # Random per-send nonce (from ``secrets``); the code/token is HMAC(key, nonce), so a re-send
    # after a crash carries the same secret. The nonce alone reveals nothing without the key.
    Column("nonce", String(64), nullable=True),
    Column("creado_en", TS, nullable=False),
    Column("enviado_en", TS, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_outbox_estado_proximo", "estado", "proximo_intento"),
)

eventos = Table(
    "eventos",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hash", String(64), nullable=False, unique=True),  # idempotency (content hash)
    # 'confirmacion_correo' | 'codigo_sms' | 'entrega' | ...
    Column("tipo", String(24), nullable=False),
    Column("origen", String(200), nullable=False),  # 'web', 'webhook', 'archivo:<name>:<line>'
    Column("fecha", TS, nullable=False),  # when it happened
    Column("recibido_en", TS, nullable=False),
    # No other index: a bulk import appends a million rows, and every index is a random-order
    # insert per row. Replays are found through the unique hash.
    Column("medio_id", BigInteger, nullable=True),
    Column("datos", Text, nullable=False),  # JSON; codes/tokens only as HMAC digests
    Column("aplicado", Boolean, nullable=False, server_default=text("false")),
    Column("resultado", String(40), nullable=True),
)

auditoria = Table(
    "auditoria",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("en", TS, nullable=False),
    Column("entidad", String(16), nullable=False),  # 'medio' | 'particular' | 'rp'
    Column("entidad_id", String(64), nullable=False),
    Column("de_estado", String(16), nullable=True),
    Column("a_estado", String(16), nullable=True),
    Column("origen", Text, nullable=False),  # 'archivo.xlsx:Hoja1:12' or 'comando:baja'
    Column("detalle", Text, nullable=True),
    Index("ix_auditoria_entidad", "entidad", "entidad_id"),
)

# --- reports (issue 12) ---------------------------------------------------------------------

# One row per ``buzon apply`` run (also runs without rejections), so the report knows which upload
# was the last one.
cargas = Table(
    "cargas",
    metadata,
    Column("corrida", String(40), primary_key=True),
    Column("en", TS, nullable=False),
    Column("archivos", Text, nullable=False),  # the uploaded file names, comma-separated
    Column("entradas", Integer, nullable=False),
    Column("rechazadas", Integer, nullable=False),
)

# Every rejection of every ``buzon apply`` run (run, file, sheet, row, column, code), so the report
# can show the last upload's rejections. ``corrida`` is one id per run; rows are never updated.
rechazos = Table(
    "rechazos",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("corrida", String(40), nullable=False, index=True),
    Column("en", TS, nullable=False),
    Column("archivo", Text, nullable=False),
    Column("hoja", Text, nullable=True),
    Column("fila", Integer, nullable=True),
    Column("columna", Text, nullable=True),
    Column("valor", Text, nullable=True),
    Column("codigo", String(32), nullable=False),
    Column("mensaje", Text, nullable=True),
)

# The exact Terms and Conditions text of each version signed, stored once; the T&C acuse refers
# to it by ``acuses.tyc_sha256`` (the digest the cadena seals), so a printed acuse and a bundle
# carry the very text that was signed.
terminos_textos = Table(
    "terminos_textos",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("origen", String(16), nullable=False),  # 'proyecto' | 'operador'
    Column("texto", Text, nullable=False),
    Column("creado_en", TS, nullable=False),
)

# Issue 11 (guide section VIII): RFCs whose Buzón was activated before 06/08/2024 already comply
# (registered media and signed T&C under the 2020 rules). ``buzon activados importar`` records
# them here and sets ``particulares.estado = 'activado_previo'``; origen = ``archivo:hoja:fila``.
activaciones_previas = Table(
    "activaciones_previas",
    metadata,
    Column("rfc", String(13), ForeignKey("particulares.rfc"), primary_key=True),
    Column("fecha", TS, nullable=True),  # activation date as the file gives it
    Column("folio", String(40), nullable=True),  # the old acuse's folio, if known
    Column("origen", Text, nullable=False),
    Column("importado_en", TS, nullable=False),
)

__all__ = [
    "metadata",
    "particulares",
    "registros_patronales",
    "medios",
    "alcances",
    "acuses",
    "folio_reloj",
    "outbox",
    "eventos",
    "auditoria",
    "cargas",
    "rechazos",
    "terminos_textos",
    "activaciones_previas",
]

# --- e.firma signing requests (issue 14) ------------------------------------------------------

# A request to sign the T&C: the exact bytes (``cadena``) the holder signs on their own machine.
# One 'abierta' request per RFC at a time; it becomes 'usada' with the acuse it produced, or
# 'reemplazada' when the T&C version changes or the operator renews it.
solicitudes = Table(
    "solicitudes",
    metadata,
    Column("folio", String(24), primary_key=True),
    Column("rfc", String(13), nullable=False, index=True),
    Column("fecha", TS, nullable=False),
    Column("tyc_version", String(64), nullable=False),
    Column("tyc_sha256", String(64), nullable=False),
    Column("cadena", Text, nullable=False),
    Column("estado", String(16), nullable=False),  # 'abierta' | 'usada' | 'reemplazada'
    Column("acuse_folio", String(24), nullable=True),
    Column("cerrada_en", TS, nullable=True),
)

# Legal representatives designated by a joint signature (particular + representative, same
# request); later requests for the RFC may be signed by the representative alone.
representantes = Table(
    "representantes",
    metadata,
    Column("rfc", String(13), primary_key=True),
    Column("rfc_representante", String(13), primary_key=True),
    Column("numero_certificado", String(20), nullable=False),
    Column("acuse_folio", String(24), nullable=False),
    Column("designado_en", TS, nullable=False),
)

__all__ += ["solicitudes", "representantes"]

# --- imported event files (issue 10, performance) ---------------------------------------------

# One row per event file whose every event was applied, written in the transaction of the import's
# last chunk: re-importing the same bytes is then skipped without parsing them again. A crash
# mid-import leaves no row, so the re-run parses the file and the per-event hash dedupe finishes it.
archivos_eventos = Table(
    "archivos_eventos",
    metadata,
    Column("huella", String(64), primary_key=True),  # keyed digest of the file's bytes
    Column("nombre", String(255), nullable=False),  # the file's name when first imported
    Column("eventos", Integer, nullable=False),  # its lines (events), counted again on a skip
    Column("importado_en", TS, nullable=False),
)

__all__ += ["archivos_eventos"]
