"""Bad input to the report commands: one Spanish line, non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path

from reports_helpers import Registro


def test_verify_missing_path(registro_sqlite: Registro, tmp_path: Path) -> None:
    result = registro_sqlite.run("verify", str(tmp_path / "no-hay.zip"), code=1)
    assert "FALLA" in result.output and "no existe" in result.output
    assert "Traceback" not in result.output


def test_verify_unreadable_certificate(registro_sqlite: Registro, tmp_path: Path) -> None:
    z = tmp_path / "x.zip"
    z.write_bytes(b"no es un zip")
    result = registro_sqlite.run(
        "verify", "--certificado", str(tmp_path / "falta.pem"), str(z), code=None
    )
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_verify_not_a_zip(registro_sqlite: Registro, tmp_path: Path) -> None:
    z = tmp_path / "x.zip"
    z.write_bytes(b"no es un zip")
    result = registro_sqlite.run("verify", str(z), "--json", code=1)
    assert '"ok": false' in result.output and "no es un ZIP legible" in result.output


def test_report_out_is_a_file(registro_sqlite: Registro, tmp_path: Path) -> None:
    archivo = tmp_path / "ocupado"
    archivo.write_text("x")
    result = registro_sqlite.run("report", "--out", str(archivo), "--sin-paquetes", code=None)
    assert result.exit_code != 0
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
