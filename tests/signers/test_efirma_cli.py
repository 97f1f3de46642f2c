from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from buzon.cli import cli

NOW = "2025-03-01T12:00:00Z"


def _run(sat, name: str, *extra: str, env: dict | None = None, input: str | None = None):  # noqa: ANN001, ANN202, A002
    par = sat[name]
    args = ["efirma", "check", "--cer", str(par.cer), "--key", str(par.key), *extra]
    return CliRunner().invoke(cli, args, env={"BUZON_NOW": NOW, **(env or {})}, input=input)


def test_ok_with_password_file_json(sat) -> None:
    par = sat["moral"]
    r = _run(sat, "moral", "--password-file", str(par.password_file), "--rfc", par.rfc, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["ok"] is True and out["error"] is None
    assert out["tipo"] == "FIEL" and out["rfc"] == sat.MORAL
    assert out["rfc_representante"] == sat.REP[0] and out["curp"] == sat.REP[1]
    assert out["numero_certificado"] == sat.NUMERO_MORAL
    assert out["emisor"] == "AC DE PRUEBA DEL SAT"
    assert out["valido_desde"].startswith("2025-01-30") and out["nombre"]
    assert par.password not in r.output


def test_password_from_environment_and_prompt(sat) -> None:
    par = sat["fisica"]
    r = _run(sat, "fisica", env={"BUZON_EFIRMA_PASSWORD": par.password})
    assert r.exit_code == 0, r.output
    assert "puede firmar         sí" in r.stdout and par.password not in r.output
    r = _run(sat, "fisica", "--json", input=par.password + "\n")
    assert r.exit_code == 0, r.output
    assert par.password not in r.output  # the prompt hides the input
    r = _run(sat, "fisica", "--json")  # no file, no variable, nothing typed
    assert r.exit_code == 1
    assert json.loads(r.stdout.splitlines()[-1])["error"] == "EFIRMA_CONTRASENA"


@pytest.mark.parametrize(
    ("name", "extra", "code"),
    [
        ("moral", ["--rfc", "XIQB891116QE4"], "EFIRMA_RFC_DISTINTO"),
        ("csd", [], "EFIRMA_ES_CSD"),
        ("vencida", [], "EFIRMA_VENCIDA"),
        ("futura", [], "EFIRMA_NO_VIGENTE"),
        ("otra_llave", [], "EFIRMA_LLAVE_NO_CORRESPONDE"),
        ("trunca_key", [], "EFIRMA_ARCHIVO_INVALIDO"),
    ],
)
def test_failures_exit_1_with_the_code(sat, name: str, extra: list[str], code: str) -> None:
    par = sat[name]
    r = _run(sat, name, "--password-file", str(par.password_file), "--json", *extra)
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["error"] == code and out["mensaje"]
    assert out["rfc"] == par.rfc  # what could be read is still reported
    assert f"error: {code}:" in r.stderr and "Traceback" not in r.output


def test_wrong_password_and_unreadable_certificate(sat, tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "mala.txt"
    bad.write_text("equivocada")
    bad.chmod(0o600)
    r = _run(sat, "moral", "--password-file", str(bad))
    assert r.exit_code == 1 and "EFIRMA_CONTRASENA" in r.stderr and "equivocada" not in r.output
    r = _run(sat, "trunca_cer", "--password-file", str(bad), "--json")
    out = json.loads(r.stdout)
    assert out["error"] == "EFIRMA_ARCHIVO_INVALIDO" and out["rfc"] is None


def test_chain_check_from_settings(sat) -> None:
    par = sat["forjada"]
    env = {"BUZON_SAT_CA_DIR": str(sat.ca_dir)}
    r = _run(sat, "forjada", "--password-file", str(par.password_file), "--json", env=env)
    assert r.exit_code == 1 and json.loads(r.stdout)["error"] == "EFIRMA_EMISOR_NO_CONFIABLE"
    good = sat["moral"]
    r = _run(sat, "moral", "--password-file", str(good.password_file), env=env)
    assert r.exit_code == 0, r.output


def test_password_is_not_a_command_line_option() -> None:
    r = CliRunner().invoke(cli, ["efirma", "check", "--help"])
    assert r.exit_code == 0 and "--password-file" in r.stdout
    assert "--password " not in r.stdout and "Ejemplo" in r.stdout


def test_firmar_help_is_spanish_with_an_example() -> None:
    r = CliRunner().invoke(cli, ["efirma", "firmar", "--help"])
    assert r.exit_code == 0 and "Ejemplo" in r.stdout and "--password " not in r.stdout
    assert "--representante" in r.stdout and "--solicitud" in r.stdout


def test_firmar_refuses_a_folder_without_a_request(sat, tmp_path) -> None:  # noqa: ANN001
    par = sat["fisica"]
    args = ["efirma", "firmar", "--solicitud", str(tmp_path), "--cer", str(par.cer)]
    args += ["--key", str(par.key), "--password-file", str(par.password_file)]
    r = CliRunner().invoke(cli, args, env={"BUZON_NOW": NOW})
    assert r.exit_code == 1 and "SOLICITUD" not in r.stdout
    assert "falta cadena.txt" in r.stderr and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []  # nothing written
