"""The registry commands end to end (CliRunner, real store): apply, status, baja, acuses, db."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from registry_helpers import rp_valido

from buzon.cli import cli
from buzon.settings import Settings

A, B = "EKU9003173C9", "ABC680524P76"
RP1, RP2 = rp_valido("Y39", 1), rp_valido("Y39", 2)
HEAD = "RFC,Razon social,Registro patronal,Correo,Celular\n"


@pytest.fixture
def run(rsettings: Settings):  # noqa: ANN201
    env = {
        "BUZON_HOME": str(rsettings.home),
        "BUZON_SEAL_KEY": str(rsettings.seal_key),
        "BUZON_SEAL_CERT": str(rsettings.seal_cert),
        "BUZON_DATABASE_URL": rsettings.database_url or "",
        "BUZON_NOW": "2024-08-08T11:42:45-06:00",
    }
    if not rsettings.database_url:
        env.pop("BUZON_DATABASE_URL")

    def invoke(*args: str, code: int = 0):  # noqa: ANN202
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == code, result.output + str(result.exception)
        return result

    return invoke


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_apply_status_baja_acuses(run, tmp_path: Path) -> None:  # noqa: ANN001
    carga = _csv(
        tmp_path / "carga.csv",
        [f"{A},Kumo,,rh@kumo.mx,5512345678", f"{A},Kumo,{RP1},rh@kumo.mx,",
         f"{A},Kumo,{RP2},rh@kumo.mx,", f"{B},Bajio,,nomina@bajio.mx,5587654321"],
    )  # fmt: skip
    first = json.loads(run("apply", str(carga), "--json").output)
    assert first["accepted"] == first["entries"] == 6
    assert first["registered"] == 4 and first["acuses"] == {
        "registro": 4, "actualizacion": 0, "baja": 0
    }  # fmt: skip
    again = json.loads(run("apply", str(carga), "--json").output)
    assert (again["registered"], again["unchanged"], sum(again["acuses"].values())) == (0, 4, 0)

    status = json.loads(run("status", "--json").output)
    assert status["por_estado"]["registrado"] == 4 and set(status["por_estado"]) >= {"baja"}
    kumo = json.loads(run("status", "--rfc", A.lower(), "--json").output)
    assert [r["rfc"] for r in kumo["rfcs"]] == [A]
    assert {r["rp"]: r["por_estado"]["registrado"] for r in kumo["rps"]} == {RP1: 1, RP2: 1}

    assert "folio BI-20240808-" in run("baja", "--rfc", A, "--medio", "55 1234 5678").output
    err = run("baja", "--rfc", A, "--medio", "55 1234 5678", code=1)
    assert err.output.count("\n") == 1 and "no hay un medio activo" in err.output
    assert json.loads(run("status", "--json").output)["por_estado"]["baja"] == 1

    out = tmp_path / "acuses"
    run("acuses", "--out", str(out))
    items = [json.loads(line) for line in (out / "acuses.jsonl").read_text().splitlines()]
    assert sorted(i["tipo"] for i in items) == ["baja"] + ["registro"] * 4
    assert all(i["fecha"].startswith("2024-08-08T11:42:45-06:00") for i in items)
    baja = next(i for i in items if i["tipo"] == "baja")
    (tmp_path / "cadena.txt").write_text(baja["cadena_original"], encoding="utf-8")
    (tmp_path / "sello.bin").write_bytes(base64.b64decode(baja["sello"]))
    pub = subprocess.run(["openssl", "x509", "-in", str(out / "sello.pem"), "-pubkey", "-noout"],
                         capture_output=True, check=True).stdout  # fmt: skip
    (tmp_path / "pub.pem").write_bytes(pub)
    ok = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "pub.pem"), "-signature",
         str(tmp_path / "sello.bin"), str(tmp_path / "cadena.txt")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert ok.returncode == 0 and "Verified OK" in ok.stdout
    solo_b = run("acuses", "--rfc", B, "--out", str(tmp_path / "b"))
    assert solo_b.output.startswith("2 acuses")
    assert "Esquema al día" in run("db", "upgrade").output


def test_limits_count_the_registry(run, tmp_path: Path) -> None:  # noqa: ANN001
    primera = _csv(
        tmp_path / "uno.csv",
        [f"{A},Kumo,,c{i}@kumo.mx,5512345678" for i in range(4)] + [f"{B},Bajio,{RP1},b@bajio.mx,"],
    )
    run("apply", str(primera), "--json")
    segunda = _csv(
        tmp_path / "dos.csv",
        [f"{A},Kumo,,nuevo1@kumo.mx,5599999999", f"{A},Kumo,,nuevo2@kumo.mx,",
         f"{A},Kumo,{RP1},rh@kumo.mx,"],
    )  # fmt: skip
    r = json.loads(run("apply", str(segunda), "--json").output)
    assert r["rejections"] == {"CORREOS_EXCEDIDOS": 1, "TELEFONO_EXCEDIDO": 1, "RP_OTRO_RFC": 1}
    assert r["registered"] == 1  # nuevo1 is the fifth email; nuevo2 would be the sixth


def test_sync_flag_and_bad_input(run, tmp_path: Path) -> None:  # noqa: ANN001
    carga = _csv(tmp_path / "c.csv", [f"{A},Kumo,,rh@kumo.mx,5512345678"])
    run("apply", str(carga))
    menos = _csv(tmp_path / "m.csv", [f"{A},Kumo,,rh@kumo.mx,"])
    r = json.loads(run("apply", str(menos), "--sync", "--json").output)
    assert r["bajas"] == 1 and r["acuses"]["baja"] == 1
    missing = run("apply", str(tmp_path / "no-existe.csv"), code=2)
    assert missing.output.startswith("error:") and "Traceback" not in missing.output
