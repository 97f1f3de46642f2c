from __future__ import annotations

import base64
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from buzon.errors import (
    ConfigError,
    EfirmaArchivoInvalido,
    EfirmaContrasena,
    EfirmaEmisorNoConfiable,
    EfirmaEsCsd,
    EfirmaLlaveNoCorresponde,
    EfirmaNoVigente,
    EfirmaRfcDistinto,
    EfirmaVencida,
)
from signers.efirma import CSD, FIEL, Certificado, Efirma, check, load_and_check, load_trusted

MORAL, REP, FISICA = "EKU9003173C9", ("VADA800927DJ3", "VADA800927HSRSRL05"), "XIQB891116QE4"
FISICA_CURP, NUMERO_MORAL = "XIQB891116MGRMZR05", "30001000000500003416"


def _load(sat, name: str, **kw) -> Efirma:  # noqa: ANN001
    par = sat[name]
    return load_and_check(par.cer, par.key, par.password, now=sat.now, **kw)


def test_fixture_identities(sat) -> None:
    assert (sat.MORAL, sat.REP, sat.FISICA) == (MORAL, REP, FISICA)
    assert (sat.FISICA_CURP, sat.NUMERO_MORAL) == (FISICA_CURP, NUMERO_MORAL)


def test_persona_moral_fields(sat) -> None:
    c = Certificado.load(sat["moral"].cer)
    assert (c.rfc, c.rfc_representante) == (MORAL, REP[0])
    assert c.curp == REP[1]
    assert c.nombre == "ESCUELA KEMPER URGATE SA DE CV"
    assert c.numero_certificado == NUMERO_MORAL
    assert c.tipo == FIEL
    assert c.emisor == "AC DE PRUEBA DEL SAT"
    assert c.valido_desde == sat.now - timedelta(days=30)
    assert c.valido_hasta == sat.now + timedelta(days=4 * 365)
    # The serial really is the number's ASCII bytes, as SAT does it.
    assert c.cert.serial_number.to_bytes(20, "big") == NUMERO_MORAL.encode()


def test_persona_fisica_fields(sat) -> None:
    info = Certificado.load(sat["fisica"].cer).info()
    assert info["rfc"] == FISICA and info["rfc_representante"] is None
    assert info["curp"] == FISICA_CURP
    assert info["tipo"] == "FIEL" and len(info["numero_certificado"]) == 20


def test_valid_fiel_passes_every_check(sat) -> None:
    trusted = load_trusted(sat.ca_dir)
    for name in ("moral", "fisica", "fisica_pem"):
        e = _load(sat, name, rfc=sat[name].rfc.lower(), trusted=trusted)
        assert e.certificado.numero_certificado == sat[name].numero


def test_pem_and_der_are_the_same_certificate(sat) -> None:
    der, pem = Certificado.load(sat["fisica"].cer), Certificado.load(sat["fisica_pem"].cer)
    assert der.info() == pem.info()


def test_full_rsa_validation_accepts_a_good_key(sat) -> None:
    par = sat["moral"]
    assert Efirma.load(par.cer, par.key, par.password, validate=True).certificado.rfc == MORAL


def test_csd_is_refused(sat) -> None:
    assert Certificado.load(sat["csd"].cer).tipo == CSD
    with pytest.raises(EfirmaEsCsd, match="CSD"):
        _load(sat, "csd")


def test_expired_and_not_yet_valid(sat) -> None:
    with pytest.raises(EfirmaVencida, match="venció"):
        _load(sat, "vencida")
    with pytest.raises(EfirmaNoVigente, match="aún no es vigente"):
        _load(sat, "futura")
    # The same certificate is fine at a time inside its validity.
    c = Certificado.load(sat["futura"].cer)
    check(c, now=sat.now + timedelta(days=2))


def test_rfc_mismatch(sat) -> None:
    with pytest.raises(EfirmaRfcDistinto) as info:
        _load(sat, "fisica", rfc=MORAL)
    assert info.value.code == "EFIRMA_RFC_DISTINTO" and MORAL in info.value.message


def test_wrong_and_missing_password(sat) -> None:
    par = sat["moral"]
    with pytest.raises(EfirmaContrasena, match="incorrecta"):
        Efirma.load(par.cer, par.key, "no-es-la-clave")
    with pytest.raises(EfirmaContrasena, match="falta la contraseña"):
        Efirma.load(par.cer, par.key, None)
    with pytest.raises(EfirmaContrasena):
        Efirma.load(sat["fisica_pem"].cer, sat["fisica_pem"].key, "mala")


def test_key_of_another_certificate(sat) -> None:
    with pytest.raises(EfirmaLlaveNoCorresponde, match="no corresponde"):
        _load(sat, "otra_llave")


@pytest.mark.parametrize("name", ["trunca_cer", "trunca_key"])
def test_truncated_files(sat, name: str) -> None:
    with pytest.raises(EfirmaArchivoInvalido, match="incompleto o dañado"):
        _load(sat, name)


def test_garbage_and_missing_files(sat, tmp_path: Path) -> None:
    junk = tmp_path / "junk.cer"
    junk.write_bytes(b"\x30\x03\x02\x01\x01")  # a complete DER SEQUENCE that is no certificate
    with pytest.raises(EfirmaArchivoInvalido, match="no es un certificado"):
        Certificado.load(junk)
    with pytest.raises(EfirmaArchivoInvalido, match="no se pudo leer"):
        Certificado.load(tmp_path / "no-existe.cer")
    text = tmp_path / "texto.key"
    text.write_text("hola")
    with pytest.raises(EfirmaArchivoInvalido):
        Efirma.load(sat["fisica"].cer, text, "x")


def test_chain_trusted_untrusted_and_forged(sat) -> None:
    trusted = load_trusted(sat.ca_dir)
    with pytest.raises(EfirmaEmisorNoConfiable, match="no está entre las AC"):
        _load(sat, "ajena", trusted=trusted)
    with pytest.raises(EfirmaEmisorNoConfiable, match="no corresponde a la AC"):
        _load(sat, "forjada", trusted=trusted)
    # Without a configured CA folder there is no chain check.
    assert _load(sat, "forjada").certificado.rfc == FISICA


def test_trusted_dir_accepts_pem_and_refuses_junk(sat, tmp_path: Path) -> None:
    pem_dir = tmp_path / "pem"
    pem_dir.mkdir()
    ca = load_trusted(sat.ca_dir)[0]
    from cryptography.hazmat.primitives import serialization

    (pem_dir / "ac.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (pem_dir / "LEEME.txt").write_text("ignored")
    assert _load(sat, "moral", trusted=load_trusted(pem_dir)).certificado.rfc == MORAL
    empty = tmp_path / "vacio"
    empty.mkdir()
    with pytest.raises(ConfigError):
        load_trusted(empty)
    (empty / "mala.cer").write_bytes(b"no")
    with pytest.raises(ConfigError, match="ilegible"):
        load_trusted(empty)
    with pytest.raises(ConfigError, match="no es una carpeta"):
        load_trusted(tmp_path / "nada")


def test_signature_verifies_with_public_key_and_openssl(sat, tmp_path: Path) -> None:
    e = _load(sat, "moral")
    cadena = "||3.0|BI-20250301-060000000|2025-03-01T06:00:00-06:00|terminos|EKU9003173C9|Ñandú||"
    firma = e.sign(cadena)
    raw = base64.b64decode(firma)
    assert len(raw) == 256
    e.certificado.cert.public_key().verify(
        raw, cadena.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
    )
    assert e.certificado.verify(cadena, firma)
    assert not e.certificado.verify(cadena + " ", firma)
    (tmp_path / "cadena.txt").write_bytes(cadena.encode("utf-8"))
    (tmp_path / "firma.bin").write_bytes(raw)
    (tmp_path / "cert.pem").write_text(e.certificado.pem)
    pub = subprocess.run(
        ["openssl", "x509", "-in", "cert.pem", "-pubkey", "-noout"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    ).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "firma.bin"]
        + ["cadena.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "Verified OK" in out.stdout


def test_openssl_reads_the_sat_style_files(sat) -> None:
    par = sat["moral"]
    pw = par.password_file
    key = subprocess.run(
        ["openssl", "pkcs8", "-inform", "DER", "-in", str(par.key), "-passin", f"file:{pw}"],
        capture_output=True,
        text=True,
    )
    assert key.returncode == 0 and "BEGIN PRIVATE KEY" in key.stdout
    asn1 = subprocess.run(
        ["openssl", "asn1parse", "-inform", "DER", "-in", str(par.key)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "PBES2" in asn1 and "PBKDF2" in asn1 and "des-ede3-cbc" in asn1
    subject = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-in", str(par.cer), "-noout", "-subject", "-serial"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"x500UniqueIdentifier = {MORAL} / {REP[0]}" in subject
    assert NUMERO_MORAL.encode().hex().upper() in subject
