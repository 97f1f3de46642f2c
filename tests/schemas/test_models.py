"""The pandera models (extracted and accepted entries) and the plan's invariant check."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from pandera.errors import SchemaError, SchemaErrors

from buzon.errors import InvariantError
from schemas.models import AcceptedEntries, Entries, check_accepted
from schemas.plan import load_file, plan_files

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "carga_corporativo.xlsx"


@pytest.fixture(scope="module")
def sample() -> tuple[pl.DataFrame, pl.DataFrame]:
    entries = load_file(SAMPLE).entries
    return entries, plan_files([SAMPLE]).accepted


def test_extracted_entries_fit_their_model(sample: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    entries, _ = sample
    Entries.validate(entries, lazy=True)


def test_entries_need_provenance(sample: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    entries, _ = sample
    with pytest.raises(SchemaErrors):
        Entries.validate(entries.with_columns(pl.lit(0, dtype=pl.Int64).alias("fila")), lazy=True)
    with pytest.raises((SchemaError, SchemaErrors)):
        Entries.validate(entries.with_columns(pl.lit(None, dtype=pl.String).alias("archivo")))


def test_accepted_entries_fit_their_model(sample: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, accepted = sample
    assert check_accepted(accepted).height == accepted.height


def _break(accepted: pl.DataFrame, column: str, value: object) -> pl.DataFrame:
    return accepted.with_columns(
        pl.when(pl.col("orden") == accepted["orden"][3])
        .then(pl.lit(value, dtype=accepted.schema[column]))
        .otherwise(pl.col(column))
        .alias(column)
    )


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("rfc", "XAXX0101", "str_matches"),
        ("rp", "Y39", "str_matches"),
        ("mecanismo", "fax", "isin"),
        ("medio", "sin-arroba", "medio_normalizado"),
        ("codigo", "RFC_INVALIDO", "sin_codigo"),
        ("fila", 0, "greater_than_or_equal_to"),
    ],
)
def test_broken_invariants_are_bugs(
    sample: tuple[pl.DataFrame, pl.DataFrame], column: str, value: object, check: str
) -> None:
    _, accepted = sample
    with pytest.raises(InvariantError) as caught:
        check_accepted(_break(accepted, column, value))
    line = caught.value.one_line()
    assert check in line
    assert "carga_corporativo.xlsx" in line or column == "fila"


def test_a_mobile_must_be_ten_digits(sample: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, accepted = sample
    phone_orden = accepted.filter(pl.col("mecanismo") == "telefono")["orden"][0]
    broken = accepted.with_columns(
        pl.when(pl.col("orden") == phone_orden)
        .then(pl.lit("1234567890"))
        .otherwise("medio")
        .alias("medio")
    )
    with pytest.raises(SchemaErrors):
        AcceptedEntries.validate(broken, lazy=True)


def test_missing_column_is_a_bug(sample: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, accepted = sample
    with pytest.raises(InvariantError, match="error interno"):
        check_accepted(accepted.drop("medio"))
