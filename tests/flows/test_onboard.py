"""``buzon run``: the whole onboarding as one flow; a re-run changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from buzon.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"


@pytest.fixture
def env_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    monkeypatch.setenv("BUZON_HOME", str(home))
    return home


def _run(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["run", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_run_end_to_end_then_again(prefect_harness: None, env_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "salida"
    first = _run(str(SAMPLE), "--out", str(out))
    assert set(first) == {"plan", "apply", "send", "reconcile"}
    media = first["plan"]["media"]["correo"] + first["plan"]["media"]["telefono"]
    assert first["apply"]["registered"] == media > 0
    assert first["send"]["sent"] == media and first["send"]["pending"] == 0
    assert (out / "plan" / "rechazos.csv").is_file() and (out / "plan" / "resumen.json").is_file()

    # A bounce dropped in the inbox is applied by the next run's reconcile stage.
    sms = (env_home / "spool" / "sms.jsonl").read_text().splitlines()
    ref = json.loads(sms[0])["reference"]
    inbox = env_home / "eventos" / "entrada"
    inbox.mkdir(parents=True)
    (inbox / "rebotes.csv").write_text(
        f"tipo,referencia,estado,motivo,fecha\nentrega,{ref},rebotado,buzón lleno,"
        "2026-12-02T10:00:00Z\n",
        encoding="utf-8",
    )
    again = _run(str(SAMPLE))
    assert again["apply"]["registered"] == again["apply"]["updated"] == 0
    assert again["send"]["sent"] == 0
    assert again["reconcile"]["no_entregado"] == 1
    assert not list(inbox.glob("*.csv"))


def test_run_refuses_a_missing_file_before_starting(env_home: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "no-existe.xlsx"])
    assert result.exit_code == 2
    assert "no existe" in result.stderr
    assert not (env_home / "buzon.db").exists()
