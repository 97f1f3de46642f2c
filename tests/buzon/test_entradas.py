"""One clear Spanish line for every bad input, and a failed command creates nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from buzon.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"
BUZON = Path(sys.executable).parent / "buzon"


def run(*args: str | Path, home: Path | None = None) -> Result:
    env = {"BUZON_HOME": str(home)} if home is not None else None
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, prog_name="buzon")


def one_line(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    return result.stderr


def real(*args: str | Path, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    env |= {"PYTHONPATH": str(ROOT), "BUZON_HOME": str(home)}
    return subprocess.run(
        [str(BUZON), *map(str, args)], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_serve_port_out_of_range(home: Path) -> None:
    err = one_line(run("serve", "--port", "99999", home=home), 2)
    assert err == "error: --port debe estar entre 0 y 65535, no 99999\n"


def test_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = real("serve", "--port", port, home=tmp_path / "home", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: no se puede escuchar en 127.0.0.1:{port}: el puerto ya está en uso "
        "(¿otro `buzon serve` u otro programa?)\n"
    )


def test_a_csv_cell_over_128_kib_is_read_and_rejected(tmp_path: Path) -> None:
    upload = tmp_path / "larga.csv"
    upload.write_text("RFC,Correo\nEKU9003173C9," + "a" * 140_000 + "@x.mx\n", encoding="utf-8")
    result = run("plan", upload, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rejections"] == {"CORREO_INVALIDO": 1}


def test_apply_of_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = real("apply", "nope.xlsx", home=home, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "error: nope.xlsx: el archivo no existe\n"
    assert not (home / "buzon.db").exists()
    assert not (home / "keys").exists()


def test_a_folder_is_reported_as_a_folder(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "carga.xlsx"
    folder.mkdir()
    err = one_line(run("plan", folder), 2)
    assert err == f"error: {folder}: es una carpeta, no un archivo de carga\n"
    err = one_line(run("reconcile", "--events", tmp_path, home=home), 2)
    assert err == f"error: {tmp_path}: es una carpeta, no un archivo de eventos\n"


def test_acuses_out_on_an_existing_file(tmp_path: Path, home: Path) -> None:
    target = tmp_path / "salida.txt"
    target.write_text("no tocar")
    err = one_line(run("acuses", "--out", target, home=home), 2)
    assert err == f"error: --out debe ser una carpeta; {target} es un archivo\n"
    assert target.read_text() == "no tocar"


def test_a_bad_cron_is_reported_as_the_option(home: Path) -> None:
    err = one_line(run("schedule", "--cron", "nope", home=home), 2)
    assert "'--cron'" in err and "no es una expresión cron válida: 'nope'" in err
    assert "BUZON_CRON" not in err


def test_registered_rfcs_baja_and_acuses_json(tmp_path: Path, home: Path) -> None:
    assert run("apply", SAMPLE, "--json", home=home).exit_code == 0
    err = one_line(run("status", "--rfc", "XAXX010101000", home=home), 1)
    assert err == "error: el RFC XAXX010101000 no está registrado (ningún medio de contacto)\n"
    status = json.loads(run("status", "--rfc", "EKU9003173C9", "--json", home=home).stdout)
    assert status["rfcs"] and status["rfcs"][0]["rfc"] == "EKU9003173C9"
    export = tmp_path / "acuses"
    result = run("acuses", "--out", export, "--json", home=home)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["acuses"] > 0 and summary["archivo"] == str(export / "acuses.jsonl")
    first = json.loads((export / "acuses.jsonl").read_text().splitlines()[0])
    result = run("baja", "--rfc", first["rfc"], "--medio", first["medio"], "--json", home=home)
    assert result.exit_code == 0, result.output
    baja = json.loads(result.stdout)
    assert baja["rfc"] == first["rfc"] and baja["medio"] == first["medio"] and baja["folio"]


def test_help_and_usage_errors_are_spanish() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for text in ("Uso: buzon [OPCIONES] COMANDO", "Opciones:", "Comandos:", "Muestra esta ayuda"):
        assert text in result.stdout
    assert "Usage" not in result.stdout and "Show this" not in result.stdout
    err = one_line(run("plan"), 2)
    assert err == "error: falta el argumento 'ARCHIVO...'. (ayuda: buzon plan --help)\n"
    err = one_line(run("serve", "--port", "abc"), 2)
    assert "valor inválido para '--port': 'abc' no es un entero válido" in err
    err = one_line(run("nope"), 2)
    assert err == "error: no existe el comando 'nope'. (ayuda: buzon --help)\n"


@pytest.mark.parametrize("name", ["carga.docx"])
def test_unsupported_extension_says_what_is_allowed(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04")
    err = one_line(run("plan", path), 2)
    assert ".xlsx, .xlsm, .xls, .ods, .csv o .txt" in err
