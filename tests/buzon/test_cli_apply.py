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


def test_sync_replaces_a_full_scope_in_one_run(
    monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path
) -> None:
    """``--sync`` with a new mobile for a scope whose mobile it drops: replaced in the first run,
    and the same upload applied again changes nothing (found by tests/registry/test_stateful.py)."""
    monkeypatch.setenv("BUZON_HOME", str(home))
    monkeypatch.setenv("BUZON_NOW", "2024-08-08T11:42:45-06:00")
    antes = tmp_path / "antes.csv"
    antes.write_text(HEAD + f"{B},Bajio,,rh@bajio.mx,5512345678\n", encoding="utf-8")
    despues = tmp_path / "despues.csv"
    despues.write_text(HEAD + f"{B},Bajio,,rh@bajio.mx,3336150000\n", encoding="utf-8")

    def apply(*args: str) -> dict:
        result = CliRunner().invoke(cli, ["apply", *args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert apply(str(antes))["registered"] == 2
    first = apply(str(despues), "--sync")
    assert (first["rejected"], first["registered"], first["bajas"]) == (0, 1, 1)
    again = apply(str(despues), "--sync")
    assert (again["registered"], again["bajas"], again["unchanged"]) == (0, 0, 2)
    # Without --sync the registry's mobile still fills the scope: the new one is refused.
    assert apply(str(antes))["rejections"] == {"TELEFONO_EXCEDIDO": 1}
