from __future__ import annotations

import csv
import stat
from pathlib import Path

from signers import demo
from signers.efirma import Certificado, load_and_check, load_trusted


def test_keystore_layout_and_round_trip(sat, rsa_keys: dict, tmp_path: Path) -> None:
    folder = tmp_path / "ks"
    rfcs = {"EKU9003173C9": "ESCUELA KEMPER URGATE", "XIQB891116QE4": None}
    ca = demo.write_keystore(folder, rfcs, sat.now, key=rsa_keys["titular"])
    assert "NO ES SAT" in ca.cert.subject.rfc4514_string()
    pw_file = folder / "passwords.csv"
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    with pw_file.open(newline="") as fh:
        passwords = {row["rfc"]: row["password"] for row in csv.DictReader(fh)}
    assert set(passwords) == set(rfcs)
    trusted = load_trusted(folder / "ac")
    numeros = set()
    for rfc in rfcs:
        e = load_and_check(
            folder / f"{rfc}.cer",
            folder / f"{rfc}.key",
            passwords[rfc],
            now=sat.now,
            rfc=rfc,
            trusted=trusted,
        )
        c = e.certificado
        assert c.tipo == "FIEL" and c.emisor == demo.DEMO_CA_NAME
        assert c.numero_certificado.isdigit() and len(c.numero_certificado) == 20
        numeros.add(c.numero_certificado)
    assert len(numeros) == 2
    moral = Certificado.load(folder / "EKU9003173C9.cer")
    assert moral.rfc_representante and moral.curp and moral.nombre == "ESCUELA KEMPER URGATE"
    assert Certificado.load(folder / "XIQB891116QE4.cer").rfc_representante is None


def test_encrypted_key_uses_sat_parameters(rsa_keys: dict) -> None:
    der = demo.encrypt_key_sat(rsa_keys["otra"], "x", iterations=2048)
    # PBES2, PBKDF2 and des-EDE3-CBC object identifiers, in DER.
    assert bytes.fromhex("2a864886f70d01050d") in der
    assert bytes.fromhex("2a864886f70d01050c") in der
    assert bytes.fromhex("2a864886f70d0307") in der
