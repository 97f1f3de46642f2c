"""A 100,000-RP report: every RP and medium is in every output, nothing lost on the way."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import polars as pl

from buzon.settings import Settings
from registry.db import get_engine
from reports.report import build
from sample_data.masivo import sembrar


def test_report_of_100000_rps(settings: Settings, tmp_path: Path) -> None:
    counts = sembrar(get_engine(settings), settings, rps=100_000)
    data = build(settings, tmp_path / "rep", bundles=False)
    assert (data["rfcs"], data["rps"], data["medios"]) == (
        counts["rfcs"], counts["rps"], counts["medios"]
    )  # fmt: skip
    assert sum(data["por_estado"].values()) == counts["medios"]

    por_rp = pl.read_csv(tmp_path / "rep" / "estado_por_rp.csv", infer_schema=False)
    assert por_rp.height == 100_000 and por_rp["registro_patronal"].n_unique() == 100_000
    medios = pl.read_csv(tmp_path / "rep" / "medios.csv", infer_schema=False)
    assert medios.height == counts["medios"]  # one scope per medium in this store
    assert por_rp["siguiente_accion"].null_count() == 0

    with zipfile.ZipFile(tmp_path / "rep" / "estado.xlsx") as zf:
        hoja = zf.read("xl/worksheets/sheet1.xml")
        assert hoja.count(b"<row ") == 100_001 and b"<f>" not in hoja
    wb = openpyxl.load_workbook(tmp_path / "rep" / "estado.xlsx", read_only=True)
    assert wb["Por RP"].max_row == 100_001 and wb["Medios"].max_row == counts["medios"] + 1

    html = (tmp_path / "rep" / "estado.html").read_text(encoding="utf-8")
    tabla = html.split('<table id="por-rp">', 1)[1].split("<tbody>", 1)[1]
    assert tabla.count("<tr>") == 100_000
