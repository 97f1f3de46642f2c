"""``buzon apply`` through the CLI runner: entries whose RP another RFC took are counted, shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import schemas.plan
from buzon.cli import cli
from buzon.settings import Settings
from registry.apply import apply_entries
from registry.db import get_engine
from schemas.registro_patronal import calc_check_digit

A, B = "EKU9003173C9", "ABC680524P76"
RP = "Y390000110" + calc_check_digit("Y390000110")
HEAD = "RFC,Razon social,Registro patronal,Correo,Celular\n"


@pytest.fixture
def raced(monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path) -> Path:
    """An upload whose RP is free when planned and taken by RFC ``B`` right after the plan."""
    monkeypatch.setenv("BUZON_HOME", str(home))
    monkeypatch.setenv("BUZON_NOW", "2024-08-08T11:42:45-06:00")
    carga = tmp_path / "carga.csv"
    carga.write_text(
        HEAD + f"{A},Kumo,,rh@kumo.mx,5512345678\n{A},Kumo,{RP},nomina@kumo.mx,\n",
        encoding="utf-8",
    )
    rival = tmp_path / "rival.csv"
    rival.write_text(HEAD + f"{B},Bajio,{RP},rh@bajio.mx,\n", encoding="utf-8")
    real_plan = schemas.plan.plan_files

    def plan_then_race(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        result = real_plan(*args, **kwargs)
        settings = Settings()  # a second writer on the same store registers the RP first
        apply_entries(get_engine(settings), settings, real_plan([rival], settings).accepted)
        return result

    monkeypatch.setattr(schemas.plan, "plan_files", plan_then_race)
    return carga


def test_apply_json_counts_rp_ajeno(raced: Path) -> None:
    result = CliRunner().invoke(cli, ["apply", str(raced), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["accepted"] == 3 and out["rp_ajeno"] == 1
    assert out["registered"] == 2  # the RFC-scope email and mobile; the RP entry was skipped


def test_apply_text_shows_rp_ajeno(raced: Path) -> None:
    result = CliRunner().invoke(cli, ["apply", str(raced)])
    assert result.exit_code == 0, result.output
    assert "Omitidas: 1 entradas cuyo registro patronal ya pertenece a otro RFC" in result.stdout


def test_apply_json_has_rp_ajeno_zero(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("BUZON_HOME", str(home))
    sample = Path(__file__).resolve().parents[2] / "sample_data" / "carga_corporativo.xlsx"
    out = json.loads(CliRunner().invoke(cli, ["apply", str(sample), "--json"]).stdout)
    assert out["rp_ajeno"] == 0 and out["registered"] > 0
