"""The institution seal: embedded default, configured PEM files, bad files, openssl agreement."""

from __future__ import annotations

import base64
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from buzon.errors import ConfigError
from buzon.settings import Settings
from signers.seal import PARALLEL_MIN, Sello

ROOT = Path(__file__).resolve().parents[2]


def test_default_is_created_once_with_a_private_key_file(settings: Settings) -> None:
    first = Sello.load(settings)
    key_file = settings.keys_dir / "sello.key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.key.key_size == 2048
    again = Sello.load(settings)
    assert again.certificate_pem == first.certificate_pem
    assert again.certificate.subject == again.certificate.issuer  # self-signed


def test_two_processes_starting_together_share_one_key(settings: Settings) -> None:
    code = "from buzon.settings import Settings; from signers.seal import Sello; import sys;"
    code += "print(Sello.load(Settings(home=sys.argv[1])).certificate.serial_number)"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(settings.home)], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    serials = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(serials) == 1
    assert str(Sello.load(settings).certificate.serial_number) in serials


def test_signatures_verify_in_python_and_in_openssl(settings: Settings, tmp_path: Path) -> None:
    sello = Sello.load(settings)
    cadena = "||3.0|BI-20240808-114245846|2024-08-08T11:42:45-06:00|registro|EKU9003173C9|ñ||"
    firma = sello.sign(cadena)
    assert sello.verify(cadena, firma) and not sello.verify(cadena + "x", firma)
    (tmp_path / "cadena.txt").write_text(cadena, encoding="utf-8")
    (tmp_path / "firma.bin").write_bytes(base64.b64decode(firma))
    (tmp_path / "sello.pem").write_text(sello.certificate_pem)
    pub = subprocess.run(
        ["openssl", "x509", "-in", "sello.pem", "-pubkey", "-noout"],
        cwd=tmp_path, capture_output=True, check=True,
    ).stdout  # fmt: skip
    (tmp_path / "pub.pem").write_bytes(pub)
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "firma.bin",
         "cadena.txt"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0 and "Verified OK" in out.stdout


def test_sign_many_matches_sign_in_order(settings: Settings) -> None:
    sello = Sello.load(settings)
    textos = [f"||3.0|{i}||" for i in range(PARALLEL_MIN + 5)]
    firmas = sello.sign_many(textos)
    assert len(firmas) == len(textos)
    # PKCS#1 v1.5 is deterministic: the parallel path gives exactly the serial signatures.
    assert firmas[0] == sello.sign(textos[0]) and firmas[-1] == sello.sign(textos[-1])
    assert all(sello.verify(t, f) for t, f in zip(textos, firmas, strict=True))


def _pair(tmp_path: Path, password: bytes | None) -> tuple[Path, Path]:
    base = Sello.load(Settings(home=tmp_path / "origen"))
    enc = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    key = tmp_path / "llave.pem"
    key.write_bytes(
        base.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    )
    cert = tmp_path / "cert.pem"
    cert.write_text(base.certificate_pem)
    return key, cert


def test_configured_encrypted_key(tmp_path: Path) -> None:
    key, cert = _pair(tmp_path, b"s3creta")
    s = Settings(home=tmp_path / "h", seal_key=key, seal_cert=cert, seal_key_password="s3creta")
    sello = Sello.load(s)
    assert sello.verify("x", sello.sign("x"))
    assert not (tmp_path / "h" / "keys").exists()


@pytest.mark.parametrize(
    "problema", ["contrasena", "llave_basura", "cert_basura", "no_existe", "no_corresponde", "solo"]
)
def test_bad_files_are_one_line_config_errors(tmp_path: Path, problema: str) -> None:
    key, cert = _pair(tmp_path, b"s3creta")
    opts: dict = {"seal_key": key, "seal_cert": cert, "seal_key_password": "s3creta"}
    if problema == "contrasena":
        opts["seal_key_password"] = "otra"
    elif problema == "llave_basura":
        key.write_text("no es una llave")
    elif problema == "cert_basura":
        cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    elif problema == "no_existe":
        opts["seal_cert"] = tmp_path / "falta.pem"
    elif problema == "no_corresponde":
        otra = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key.write_bytes(
            otra.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        opts.pop("seal_key_password")
    else:
        opts.pop("seal_cert")
    with pytest.raises(ConfigError) as info:
        Sello.load(Settings(home=tmp_path / "h", **opts))
    line = info.value.one_line()
    assert "\n" not in line and "s3creta" not in line and "sello" in line
