"""«TODOS» in the RP cell (through the CLI): one scope per RP of the RFC known in the upload and
in the registry, with the limits and rejections of listing them, and acuses that list them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from buzon.cli import cli

A, B = "EKU9003173C9", "ABC680524P76"
RP1, RP2 = "Y3926552104", "B1212338102"


def _run(*args: str, home: Path, code: int = 0):  # noqa: ANN202
    env = {"BUZON_HOME": str(home), "BUZON_NOW": "2026-12-02T12:00:00-06:00"}
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, result.output + str(result.exception)
    return result


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("RFC,Registro patronal,Correo,Celular\n" + "\n".join(rows) + "\n", "utf-8")
    return path


def _acuses(home: Path, out: Path) -> list[dict]:
    _run("acuses", "--out", str(out), home=home)
    return [json.loads(x) for x in (out / "acuses.jsonl").read_text().splitlines()]


def test_todos_expands_in_the_upload_and_the_registry(tmp_path: Path) -> None:
    primera = _csv(
        tmp_path / "1.csv",
        [f"{A},{RP1},rp1@kumo.mx,", f"{A},{RP2},rp2@kumo.mx,", f"{A},Tódos,,5512345678",
         f"{B},todos,nomina@bajio.mx,"],
    )  # fmt: skip
    plan = json.loads(_run("plan", str(primera), "--json", home=tmp_path).stdout)
    assert plan["rejections"] == {"RP_TODOS_SIN_RP": 1}
    assert plan["rps"] == 2 and plan["scopes"] == 4  # the mobile on RP1 and on RP2
    applied = json.loads(_run("apply", str(primera), "--json", home=tmp_path).stdout)
    assert applied["registered"] == 3
    registro = {
        a["medio"]: a for a in _acuses(tmp_path, tmp_path / "a1") if a["tipo"] == "registro"
    }
    assert registro["5512345678"]["rps"] == sorted([RP1, RP2])  # the acuse lists them

    # A later upload with only «TODOS»: the registry's RPs, same limits as listing them.
    segunda = _csv(tmp_path / "2.csv", [f"{A},TODOS,todos@kumo.mx,5599999999"])
    plan = json.loads(_run("plan", str(segunda), "--json", home=tmp_path).stdout)
    # plan reads the registry too, so it rejects exactly what apply rejects: RP1 and RP2 have a
    # mobile already.
    assert plan["rejections"] == {"TELEFONO_EXCEDIDO": 2}
    applied = json.loads(_run("apply", str(segunda), "--json", home=tmp_path).stdout)
    assert applied["rejections"] == plan["rejections"]
    assert applied["registered"] == 1 and applied["accepted"] == 2
    nuevo = [
        a
        for a in _acuses(tmp_path, tmp_path / "a2")
        if a["tipo"] == "registro" and a["medio"] == "todos@kumo.mx"
    ]
    assert len(nuevo) == 1 and nuevo[0]["rps"] == sorted([RP1, RP2])
