"""Uploads never lose a column (through the CLI): the headers people write, ignored columns
reported, RP/email/mobile-looking unknown columns stopping the upload, ``--columna``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from buzon.cli import cli

RFC = "EKU9003173C9"
RP = "Y3926552104"
RP2 = "B1212338102"


def _run(*args: str, home: Path, code: int = 0):  # noqa: ANN202
    env = {"BUZON_HOME": str(home), "BUZON_NOW": "2026-12-02T12:00:00-06:00"}
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, result.output + str(result.exception)
    return result


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "header",
    [
        "Núm. Registro Patronal",
        "No. Registro Patronal",
        "Número de Registro Patronal",
        "Registros patronales",
        "Registro Patronal IMSS",
        "Reg Pat",
        "NRP",
    ],
)
def test_rp_headers(header: str, tmp_path: Path) -> None:
    carga = _csv(tmp_path / "c.csv", f"RFC,{header},Correo\n{RFC},{RP},rh@kumo.mx\n")
    summary = json.loads(_run("plan", str(carga), "--json", home=tmp_path).stdout)
    assert (summary["accepted"], summary["rps"], summary["columns_ignored"]) == (1, 1, [])


@pytest.mark.parametrize(
    ("header", "value", "kind"),
    [
        ("Mail", "rh@kumo.mx", "correo"),
        ("E-mail", "rh@kumo.mx", "correo"),
        ("Correo electrónico empresa", "rh@kumo.mx", "correo"),
        ("Tel. Celular", "5512345678", "telefono"),
        ("Número celular", "5512345678", "telefono"),
        ("Celular (10 dígitos)", "5512345678", "telefono"),
    ],
)
def test_media_headers(header: str, value: str, kind: str, tmp_path: Path) -> None:
    carga = _csv(tmp_path / "c.csv", f'RFC,"{header}"\n{RFC},{value}\n')
    summary = json.loads(_run("plan", str(carga), "--json", home=tmp_path).stdout)
    assert summary["accepted"] == 1 and summary["media"][kind] == 1
    assert summary["columns_ignored"] == []


def test_every_ignored_column_is_reported(tmp_path: Path) -> None:
    carga = _csv(
        tmp_path / "c.csv", f"RFC,Correo,Notas,Área\n{RFC},rh@kumo.mx,llamar lunes,Nómina\n"
    )
    out = tmp_path / "salida"
    summary = json.loads(
        _run("plan", str(carga), "--json", "--out", str(out), home=tmp_path).stdout
    )
    assert summary["columns_ignored"] == [
        {"archivo": "c.csv", "hoja": None, "columna": "Notas"},
        {"archivo": "c.csv", "hoja": None, "columna": "Área"},
    ]
    assert summary["warnings"]["COLUMNA_IGNORADA"] == 2
    warnings = pl.read_csv(io.BytesIO((out / "advertencias.csv").read_bytes()[3:]))
    ignored = warnings.filter(pl.col("codigo") == "COLUMNA_IGNORADA")
    assert ignored["columna"].to_list() == ["Notas", "Área"] and ignored["fila"].to_list() == [1, 1]
    assert "--columna" in ignored["mensaje"][0]
    # A hand mapping to "ignorar" silences it.
    summary = json.loads(
        _run(
            "plan", str(carga), "--json", "--columna", "notas=ignorar", "--columna", "AREA=ignorar",
            home=tmp_path,
        ).stdout
    )  # fmt: skip
    assert summary["columns_ignored"] == [] and "COLUMNA_IGNORADA" not in summary["warnings"]


@pytest.mark.parametrize(
    ("values", "campo"),
    [((RP, RP2, "Y39-26552-10-4"), "registro_patronal"),
     (("a@b.mx", "c@d.mx", "x"), "correo"),
     (("55 1234 5678", "+52 55 8765 4321", "5511112222"), "celular")],
)  # fmt: skip
def test_an_unknown_column_that_looks_like_media_stops_everything(
    values: tuple[str, ...], campo: str, tmp_path: Path
) -> None:
    rows = "".join(f"{RFC},rh@kumo.mx,{v}\n" for v in values)
    carga = _csv(tmp_path / "c.csv", "RFC,Correo,Clave IMSS\n" + rows)
    out = tmp_path / "salida"
    for command in (["plan", "--out", str(out)], ["apply", "--out", str(out)]):
        result = _run(*command, str(carga), home=tmp_path, code=2)
        line = result.stderr.strip()
        assert line.count("\n") == 0 and "Traceback" not in result.output
        assert line.startswith("error: c.csv:") and "«Clave IMSS»" in line
        assert f'--columna "Clave IMSS={campo}"' in line
        assert not out.exists()
    assert not (tmp_path / "buzon.db").exists()  # apply created nothing, registered nothing


def test_columna_maps_a_header_on_plan_and_apply(tmp_path: Path) -> None:
    carga = _csv(tmp_path / "c.csv", f"RFC,Correo,Clave IMSS\n{RFC},rh@kumo.mx,{RP}\n")
    mapping = ["--columna", "Clave IMSS=registro_patronal"]
    summary = json.loads(_run("plan", str(carga), "--json", *mapping, home=tmp_path).stdout)
    assert summary["rps"] == 1 and summary["columns_ignored"] == []
    applied = json.loads(_run("apply", str(carga), "--json", *mapping, home=tmp_path).stdout)
    assert applied["registered"] == 1
    status = json.loads(_run("status", "--json", "--por-rp", home=tmp_path).stdout)
    assert [r["rp"] for r in status["rps"]] == [RP]


@pytest.mark.parametrize(
    "spec", ["sin-igual", "Clave IMSS=telefono_fijo", "=correo", "No existe=correo"]
)
def test_a_bad_mapping_is_one_line(spec: str, tmp_path: Path) -> None:
    carga = _csv(tmp_path / "c.csv", f"RFC,Correo\n{RFC},rh@kumo.mx\n")
    result = _run("plan", str(carga), "--columna", spec, home=tmp_path, code=2)
    assert result.stderr.count("\n") == 1 and "--columna" in result.stderr


def test_apply_out_writes_the_plan_files_with_rfc_rp_and_cut_values(tmp_path: Path) -> None:
    largo = "x" * 300 + "@kumo.mx"
    carga = _csv(
        tmp_path / "c.csv",
        f"RFC,Registro patronal,Correo,Celular\n{RFC},{RP},{largo},5512345678\n"
        f"{RFC},{RP},,5587654321\n",
    )
    out = tmp_path / "salida"
    _run("apply", str(carga), "--out", str(out), home=tmp_path)
    assert sorted(p.name for p in out.iterdir()) == [
        "aceptados.parquet", "advertencias.csv", "rechazos.csv", "resumen.json"
    ]  # fmt: skip
    rechazos = pl.read_csv(io.BytesIO((out / "rechazos.csv").read_bytes()[3:]), infer_schema=False)
    assert rechazos.columns[:6] == [
        "archivo",
        "hoja",
        "fila",
        "columna",
        "rfc",
        "registro_patronal",
    ]
    by_code = {r["codigo"]: r for r in rechazos.iter_rows(named=True)}
    assert by_code["TELEFONO_EXCEDIDO"]["rfc"] == RFC
    assert by_code["TELEFONO_EXCEDIDO"]["registro_patronal"] == RP
    cut = by_code["CORREO_INVALIDO"]["valor"]
    assert len(cut) == 200 and cut.endswith("…")
    assert json.loads((out / "resumen.json").read_text())["rejected"] == 2


def test_a_column_without_header_that_holds_rps_stops(tmp_path: Path) -> None:
    carga = _csv(tmp_path / "c.csv", f"RFC,Correo,\n{RFC},rh@kumo.mx,{RP}\n{RFC},a@b.mx,{RP2}\n")
    result = _run("plan", str(carga), home=tmp_path, code=2)
    assert "columna sin encabezado" in result.stderr and result.stderr.count("\n") == 1
