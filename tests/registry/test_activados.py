"""``buzon activados importar`` (guide section VIII) then ``buzon activate`` and ``status``."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from registry_helpers import LISTO, seed
from registry_helpers import cli_env as _env
from sqlalchemy import Engine, select
from test_activate import keystore

from buzon.cli import cli
from buzon.settings import Settings
from registry.tables import activaciones_previas, auditoria, particulares
from signers import demo

PREVIO, LISTO_RFC, PENDIENTE = "EKU9003173C9", "XIQB891116QE4", "ABC680524P76"


@pytest.fixture(scope="module")
def fiel_key():  # noqa: ANN201
    return demo.new_key()


@pytest.fixture
def buzon(rsettings: Settings):  # noqa: ANN201
    env = _env(rsettings)

    def invoke(*args: str, code: int = 0):  # noqa: ANN202
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == code, result.output + str(result.exception)
        return result

    return invoke


def _xlsx(path: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Activados"
    ws.append(["Relación de RFC activados antes del 06/08/2024"])  # a title row above the header
    ws.append(["RFC", "Fecha de activación", "Folio"])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_import_then_activate_skips_them(buzon, engine: Engine, tmp_path: Path, fiel_key) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        # PREVIO also has validated media: still never asked to sign again.
        seed(conn, {PREVIO: LISTO, LISTO_RFC: LISTO, PENDIENTE: LISTO[:1]})
    archivo = _xlsx(
        tmp_path / "activados.xlsx",
        [
            [PREVIO.lower(), "2022-05-10", "BI-20220510-101010101"],
            ["KUMO900101AB1", "01/07/2024", None],  # a particular the store did not know
            ["XAXX010101000", "01/07/2024", None],
            ["BAJ900101AB1", "07/08/2024", None],
            ["BAJ900101AB2", "mañana", None],
            [PREVIO, "2022-05-10", None],
        ],
    )
    out = json.loads(buzon("activados", "importar", str(archivo), "--json").stdout)
    assert out == {
        "imported": 2,
        "already": 0,
        "rejected": {
            "DUPLICADO": 1, "FECHA_INVALIDA": 1, "FECHA_POSTERIOR": 1, "RFC_INVALIDO": 1
        },
    }  # fmt: skip
    again = json.loads(buzon("activados", "importar", str(archivo), "--json").stdout)
    assert (again["imported"], again["already"]) == (0, 2)
    with engine.connect() as conn:
        origen = conn.execute(
            select(activaciones_previas.c.origen).where(activaciones_previas.c.rfc == PREVIO)
        ).scalar_one()
        assert origen == "activados.xlsx:Activados:3"
        estado = conn.execute(
            select(particulares.c.estado).where(particulares.c.rfc == PREVIO)
        ).scalar_one()
        assert estado == "activado_previo"
        assert (
            conn.execute(
                select(auditoria.c.origen).where(
                    auditoria.c.entidad == "particular", auditoria.c.entidad_id == "KUMO900101AB1"
                )
            ).scalar_one()
            == "activados.xlsx:Activados:4"
        )

    folder = keystore(tmp_path, [PREVIO, LISTO_RFC], fiel_key)
    result = json.loads(buzon("activate", "--keystore", str(folder), "--json").stdout)
    assert result["activated"] == 1 and PREVIO not in result["not_ready"]
    status = json.loads(buzon("status", "--json").stdout)
    assert status["activacion"] == {"activado": 3, "activado_previo": 2, "pendiente": 1}
    assert "antes del 06/08/2024: 2" in buzon("status").stdout


def test_a_file_without_rfc_column_is_one_line(buzon, tmp_path: Path) -> None:
    archivo = tmp_path / "x.csv"
    archivo.write_text("Nombre,Fecha\nKumo,2022-01-01\n", encoding="utf-8")
    result = buzon("activados", "importar", str(archivo), code=2)
    assert result.stderr.count("\n") == 1 and "RFC" in result.stderr
