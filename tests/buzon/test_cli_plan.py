"""``buzon plan`` through the CLI runner: the sample's exact outcome, output files, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from buzon.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"
DATA = ROOT / "tests" / "data"

SAMPLE_SUMMARY = {
    "files": ["carga_corporativo.xlsx"],
    "sheets_skipped": [{"archivo": "carga_corporativo.xlsx", "hoja": "Instrucciones"}],
    "entries": 654,
    "accepted": 642,
    "rejected": 12,
    "rejections": {
        "CORREOS_EXCEDIDOS": 3,
        "CORREO_INVALIDO": 1,
        "MECANISMO_INVALIDO": 1,
        "RFC_INVALIDO": 2,
        "RP_DIGITO": 1,
        "RP_OTRO_RFC": 1,
        "TELEFONO_EXCEDIDO": 2,
        "TELEFONO_INVALIDO": 1,
    },
    "warnings": {"DUPLICADO": 1, "RFC_DIGITO": 1, "RFC_INCOMPLETO": 1},
    "media": {"correo": 23, "telefono": 34},
    "scopes": 641,
    "rfcs": 4,
    "rps": 298,
    "columns_ignored": [],
}
CSV_COLUMNS = ["archivo", "hoja", "fila", "columna", "valor", "codigo", "mensaje"]
REJECTION_COLUMNS = [*CSV_COLUMNS[:4], "rfc", "registro_patronal", *CSV_COLUMNS[4:]]


def _run(*args: str, env: dict[str, str] | None = None):  # noqa: ANN202
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _csv(path: Path) -> pl.DataFrame:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to show accents"
    frame = pl.read_csv(io.BytesIO(raw[3:]), infer_schema=False)
    wanted = REJECTION_COLUMNS if path.name == "rechazos.csv" else CSV_COLUMNS
    assert frame.columns == wanted
    return frame


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("plan") / "salida"
    result = _run("plan", str(SAMPLE), "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), out


def test_sample_outcome_is_pinned(sample_out: tuple[dict, Path]) -> None:
    summary, _ = sample_out
    assert summary == SAMPLE_SUMMARY


def test_json_is_exactly_one_object_on_stdout(sample_out: tuple[dict, Path]) -> None:
    result = _run("plan", str(SAMPLE), "--json")
    assert result.exit_code == 0
    decoder = json.JSONDecoder()
    obj, end = decoder.raw_decode(result.stdout)
    assert result.stdout[end:].strip() == ""
    assert obj == SAMPLE_SUMMARY


def test_rejections_csv(sample_out: tuple[dict, Path]) -> None:
    _, out = sample_out
    rejections = _csv(out / "rechazos.csv")
    assert rejections.height == SAMPLE_SUMMARY["rejected"]
    counts = dict(rejections.group_by("codigo").len().iter_rows())
    assert counts == SAMPLE_SUMMARY["rejections"]
    generic = rejections.filter(pl.col("valor") == "XAXX010101000").row(0, named=True)
    assert generic["codigo"] == "RFC_INVALIDO"
    assert generic["columna"] == "RFC"
    assert generic["hoja"] == "Medios por RP"
    assert int(generic["fila"]) > 3  # below the title and the header
    assert all(m.endswith(".") for m in rejections["mensaje"])
    # The 800 number is reported on the mobile cell, not the whole row.
    tel = rejections.filter(pl.col("codigo") == "TELEFONO_INVALIDO").row(0, named=True)
    assert (tel["columna"], tel["valor"]) == ("Celular", "800 123 4567")


def test_warnings_csv(sample_out: tuple[dict, Path]) -> None:
    _, out = sample_out
    warnings = _csv(out / "advertencias.csv")
    assert dict(warnings.group_by("codigo").len().iter_rows()) == SAMPLE_SUMMARY["warnings"]


def test_accepted_parquet_and_summary(sample_out: tuple[dict, Path]) -> None:
    summary, out = sample_out
    accepted = pl.read_parquet(out / "aceptados.parquet")
    assert accepted.height == SAMPLE_SUMMARY["accepted"]
    assert {"archivo", "hoja", "fila", "rfc", "rp", "mecanismo", "medio"} <= set(accepted.columns)
    assert accepted["medio"].null_count() == 0
    assert set(accepted["mecanismo"].unique()) == {"correo", "telefono"}
    assert json.loads((out / "resumen.json").read_text(encoding="utf-8")) == summary
    assert sorted(p.name for p in out.iterdir()) == [
        "aceptados.parquet",
        "advertencias.csv",
        "rechazos.csv",
        "resumen.json",
    ]


def test_formula_injection_is_neutralized(tmp_path: Path) -> None:
    upload = tmp_path / "malicioso.csv"
    upload.write_text(
        'RFC,Correo,Celular\n=HYPERLINK("http://x"),a@b.mx,\nEKU9003173C9,@SUM(1+1),+52 800 1\n'
        "EKU9003173C9,-2+3@x.mx,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = _run("plan", str(upload), "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    values = _csv(out / "rechazos.csv")["valor"].to_list()
    assert values and all(not v.startswith(("=", "+", "-", "@")) for v in values)
    assert '\'=HYPERLINK("http://x")' in values
    assert "'@SUM(1+1)" in values


def test_readable_summary_without_json() -> None:
    result = _run("plan", str(SAMPLE))
    assert result.exit_code == 0
    assert "Aceptadas" in result.stdout
    assert "642" in result.stdout
    assert "Instrucciones" in result.stdout


def test_several_files_in_argument_order(tmp_path: Path) -> None:
    a = DATA / "formatos" / "contactos_utf8_coma.csv"
    b = DATA / "formatos" / "contactos.xlsx"
    summary = json.loads(_run("plan", str(b), str(a), "--json").stdout)
    assert summary["files"] == ["contactos.xlsx", "contactos_utf8_coma.csv"]
    # The same media twice: the second file's entries are duplicates, nothing new.
    assert summary["warnings"]["DUPLICADO"] == 6
    assert summary["scopes"] == 6


BAD_INPUT = [
    ("missing", "no-existe.xlsx", "el archivo no existe"),
    ("corrupt", "malos/danado.xlsx", "no es un libro .xlsx válido"),
    ("truncated", "malos/truncado.xlsx", "no es un libro .xlsx válido"),
    ("empty", "malos/vacio.csv", "el archivo está vacío"),
    ("encrypted", "malos/cifrado.xlsx", "protegido con contraseña"),
    ("unsupported", "malos/carga.pdf", "tipo de archivo no soportado"),
    ("no header", "malos/sin_encabezado.xlsx", "ninguna hoja tiene una fila de encabezados"),
    ("binary csv", "malos/binario.csv", "el archivo parece binario"),
]


@pytest.mark.parametrize(("case", "name", "message"), BAD_INPUT, ids=[c for c, _, _ in BAD_INPUT])
def test_bad_input_one_line_and_nothing_written(
    tmp_path: Path, case: str, name: str, message: str
) -> None:
    out = tmp_path / "out"
    good = DATA / "formatos" / "contactos.xlsx"
    # A good file first: a bad one anywhere means nothing is written at all.
    result = _run("plan", str(good), str(DATA / name), "--out", str(out), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_too_large_through_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run("plan", str(SAMPLE), "--out", str(out), env={"BUZON_MAX_FILE_BYTES": "1000"})
    assert result.exit_code == 2
    assert "BUZON_MAX_FILE_BYTES" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_help_has_an_example() -> None:
    result = _run("plan", "--help")
    assert result.exit_code == 0
    assert "buzon plan sample_data/carga_corporativo.xlsx" in result.stdout


@pytest.mark.parametrize("program", [["-m", "buzon"], ["buzon"]], ids=["python -m", "script"])
def test_the_program_flushes_everything_before_it_ends(tmp_path: Path, program: list[str]) -> None:
    # As its own process, ``buzon plan`` ends without the interpreter's teardown (os._exit): the
    # JSON, the log lines and the output files must all be complete by then.
    argv = [sys.executable, *program]
    if program == ["buzon"]:
        script = Path(sys.executable).with_name("buzon")
        if not script.exists():
            pytest.skip("no buzon console script beside this interpreter")
        argv = [str(script)]
    out = tmp_path / "out"
    done = subprocess.run(
        [*argv, "-v", "plan", str(SAMPLE), "--out", str(out), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == SAMPLE_SUMMARY
    assert json.loads((out / "resumen.json").read_text()) == SAMPLE_SUMMARY
    assert _csv(out / "rechazos.csv").height == SAMPLE_SUMMARY["rejected"]
    assert pl.read_parquet(out / "aceptados.parquet").height == SAMPLE_SUMMARY["accepted"]
