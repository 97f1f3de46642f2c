"""Event files: instants, the content hash."""

from __future__ import annotations

import polars as pl

from reconcile.events import _fechas, contenido_hash, parse_fecha

FECHAS = [
    "2024-08-08T12:00:00.123456Z",
    "2024-08-08T12:00:00Z",
    " 2024-08-08T12:00:00z ",
    "2024-08-08T12:00:00-06:00",
    "2024-08-08 12:00:00",
    "2024-08-08T12:00:00.5",
    "basura",
    None,
    "",
    "2024-13-40T00:00:00Z",
]


def test_fast_instant_path_agrees_with_the_general_parse() -> None:
    df = pl.DataFrame({"fecha": FECHAS}, schema={"fecha": pl.String})
    general = df.select(parse_fecha(pl.col("fecha"))).to_series()
    rapido = _fechas(df)
    assert rapido.to_list() == general.to_list()
    assert rapido[3] == rapido[0].replace(hour=18, microsecond=0)  # -06:00 is 18:00 UTC
    assert rapido[6:].null_count() == 4


def test_content_hash_is_keyed_and_stable() -> None:
    cols = ("tipo", "referencia", "token", "rfc", "telefono", "codigo", "estado", "motivo")
    row = {c: None for c in cols} | {"tipo": "codigo_sms", "rfc": "EKU9003173C9", "codigo": "12345"}
    df = pl.DataFrame([row, row | {"codigo": "12346"}]).with_columns(
        fecha=pl.lit("2024-08-08T12:00:00Z").str.to_datetime(time_zone="UTC")
    )
    a = contenido_hash(b"k" * 32, df).to_list()
    assert a == contenido_hash(b"k" * 32, df).to_list()  # same content, same event
    assert a[0] != a[1] and len(a[0]) == 64
    assert contenido_hash(b"j" * 32, df).to_list() != a  # the key matters: codes never bare
