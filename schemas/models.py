"""pandera (polars) models of the plan's frames: what extraction produces and what is accepted.

They state the contracts the rest of the pipeline relies on. ``AcceptedEntries`` is checked on
every plan (:func:`check_accepted`): the rules in :mod:`schemas.validate` must never let through
an entry that breaks it, so a failure is a bug, reported as :class:`~buzon.errors.InvariantError`.
Per-scope limits are not here: pandera's ``groupby`` checks are ignored on polars frames, so
they live in :mod:`schemas.limits` as plain polars.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from buzon.errors import InvariantError

RFC_PATTERN = r"^[A-Z&Ñ]{3,4}[0-9]{6}[A-Z0-9]{3}$"
RP_PATTERN = r"^[A-Z0-9][0-9]{10}$"
MOBILE_PATTERN = r"^[2-9][0-9]{9}$"


class Entries(pa.DataFrameModel):
    """Entries as :func:`schemas.entries.extract_entries` makes them: text cells with provenance."""

    archivo: pl.String = pa.Field(nullable=False)
    hoja: pl.String = pa.Field(nullable=True)  # null for CSV
    fila: pl.Int64 = pa.Field(ge=1)
    posicion: pl.Int32
    rfc_valor: pl.String = pa.Field(nullable=True)
    rfc_columna: pl.String = pa.Field(nullable=False)
    nombre: pl.String = pa.Field(nullable=True)
    rp_valor: pl.String = pa.Field(nullable=True)
    rp_columna: pl.String = pa.Field(nullable=True)
    mecanismo: pl.String = pa.Field(nullable=True, isin=["correo", "telefono"])
    mecanismo_valor: pl.String = pa.Field(nullable=True)
    mecanismo_columna: pl.String = pa.Field(nullable=True)
    columna: pl.String = pa.Field(nullable=True)
    valor: pl.String = pa.Field(nullable=True)

    class Config:
        strict = True


class AcceptedEntries(pa.DataFrameModel):
    """An accepted entry: a valid RFC, an 11-character RP or none, a normalized medium."""

    orden: pl.Int64 = pa.Field(ge=0, unique=True)
    archivo: pl.String = pa.Field(nullable=False)
    hoja: pl.String = pa.Field(nullable=True)
    fila: pl.Int64 = pa.Field(ge=1)
    rfc: pl.String = pa.Field(str_matches=RFC_PATTERN)
    rp: pl.String = pa.Field(nullable=True, str_matches=RP_PATTERN)
    mecanismo: pl.String = pa.Field(isin=["correo", "telefono"])
    medio: pl.String = pa.Field(nullable=False)
    codigo: pl.String = pa.Field(nullable=True)
    duplicado: pl.Boolean

    @pa.check("codigo")
    def sin_codigo(cls, data: pa.PolarsData) -> pl.LazyFrame:  # noqa: N805 - pandera's API
        return data.lazyframe.select(pl.col(data.key).is_null())

    @pa.dataframe_check
    def medio_normalizado(cls, data: pa.PolarsData) -> pl.LazyFrame:  # noqa: N805
        """A mobile is 10 digits (not 0/1 first); an email has its @."""
        medio = pl.col("medio")
        return data.lazyframe.select(
            pl.when(pl.col("mecanismo") == "telefono")
            .then(medio.str.contains(MOBILE_PATTERN))
            .otherwise(medio.str.contains("@", literal=True))
        )


def check_accepted(accepted: pl.DataFrame) -> pl.DataFrame:
    """Validate the accepted entries (data, not just the schema); raise InvariantError if broken."""
    try:
        return AcceptedEntries.validate(accepted, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.row(0, named=True)
        where = ""
        index = first.get("index")
        if index is not None and 0 <= int(index) < accepted.height:
            row = accepted.row(int(index), named=True)
            where = f" en {row['archivo']}:{row['hoja'] or ''}:{row['fila']}"
        raise InvariantError(
            f"error interno: {cases.height} falla(s) del modelo AcceptedEntries, la primera "
            f"«{first.get('check')}» en la columna {first.get('column')}{where}; es un defecto "
            "del programa, repórtalo"
        ) from exc
    except SchemaError as exc:  # schema-level (dtype, missing column): no row to point at
        raise InvariantError(
            f"error interno: el modelo AcceptedEntries no se cumple ({exc}); es un defecto del "
            "programa, repórtalo"
        ) from exc
