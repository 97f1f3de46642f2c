"""Secrets only the owner can read: keys, the database, spooled links and codes; outputs follow
the umask; password files others can read are refused."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from buzon.cli import cli
from buzon.errors import ConfigError
from buzon.files import atomic_write, private_dir, private_file, require_private
from registry.activate import Keystore
from signers import demo

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"
BUZON = Path(sys.executable).parent / "buzon"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_takes_the_mode_given_else_the_umask(tmp_path: Path) -> None:
    atomic_write(tmp_path / "secreto", b"x", mode=0o600)
    assert mode(tmp_path / "secreto") == 0o600
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "salida", b"x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "salida") == 0o640


def test_private_dir_and_file(tmp_path: Path) -> None:
    shared = tmp_path / "llaves"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert mode(private_dir(shared)) == 0o700
    home = tmp_path / "casa"
    home.mkdir()
    home.chmod(0o755)
    assert mode(private_dir(home, tighten=False)) == 0o755  # a folder the operator chose
    old = tmp_path / "viejo.jsonl"
    old.write_text("línea\n")
    old.chmod(0o644)
    assert mode(private_file(old)) == 0o600
    assert old.read_text() == "línea\n"  # tightened, not truncated


@pytest.mark.parametrize("bits", [0o640, 0o604, 0o620, 0o610, 0o602])
def test_any_group_or_other_bit_is_refused(tmp_path: Path, bits: int) -> None:
    path = tmp_path / "passwords.csv"
    path.write_text("rfc,password\nEKU9003173C9,x\n")
    path.chmod(bits)
    with pytest.raises(ConfigError, match=f"permisos {bits:o}"):
        require_private(path, what="passwords.csv")
    with pytest.raises(ConfigError, match="chmod 600"):
        Keystore.open(tmp_path, {})
    path.chmod(0o600)
    assert Keystore.open(tmp_path, {}).password("EKU9003173C9") == "x"


def test_efirma_check_refuses_a_password_file_others_can_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    demo.write_keystore(tmp_path, ["XIQB891116QE4"], now, iterations=1)
    password = next(csv.DictReader((tmp_path / "passwords.csv").open()))["password"]
    pw = tmp_path / "clave.txt"
    pw.write_text(password + "\n")
    monkeypatch.setenv("BUZON_NOW", now.isoformat())
    args = [
        "efirma",
        "check",
        "--cer",
        str(tmp_path / "XIQB891116QE4.cer"),
        "--key",
        str(tmp_path / "XIQB891116QE4.key"),
        "--password-file",
        str(pw),
        "--json",
    ]
    pw.chmod(0o640)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {pw}: el archivo de contraseña puede ser leído por otros usuarios "
        f"(permisos 640); ejecute: chmod 600 {pw}\n"
    )
    assert result.stdout == ""
    pw.chmod(0o600)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_a_real_run_leaves_secrets_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    env |= {"PYTHONPATH": str(ROOT), "BUZON_HOME": str(home), "BUZON_NOW": "2026-03-02T10:00:00Z"}

    def buzon(*args: str) -> None:
        done = subprocess.run(
            [str(BUZON), *args], env=env, capture_output=True, text=True, umask=0o022, timeout=300
        )
        assert done.returncode == 0, done.stderr

    buzon("apply", str(SAMPLE), "--json")
    buzon("send", "--json")
    buzon("plan", str(SAMPLE), "--out", str(tmp_path / "salida"), "--json")
    assert mode(home / "buzon.db") == 0o600
    assert mode(home / "keys") == 0o700
    assert mode(home / "keys" / "sello.key.pem") == 0o600
    assert mode(home / "keys" / "verificacion-hmac.key") == 0o600
    assert mode(home / "keys" / "sello.cert.pem") == 0o644  # public: anyone checks a sello
    emails = list((home / "spool" / "email").glob("*.eml"))
    assert emails and all(mode(p) == 0o600 for p in emails)
    assert mode(home / "spool" / "sms.jsonl") == 0o600
    assert mode(home / "spool") == 0o700
    outputs = list((tmp_path / "salida").iterdir())
    assert outputs and all(mode(p) == 0o644 for p in outputs)  # the umask's choice
