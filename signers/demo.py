"""Demo e.firmas: a CA clearly marked "DEMO - NO ES SAT" and FIELs shaped like SAT's.

What is mirrored (DESIGN.md §2): DER ``.cer``; ``.key`` as DER PKCS#8 ``EncryptedPrivateKeyInfo``
with PBES2 (PBKDF2-HMAC-SHA1, 2048 iterations, DES-EDE3-CBC) as SAT's files are; the RFC in
``x500UniqueIdentifier`` (``"RFC / RFC_REPRESENTANTE"`` for a persona moral), the CURP in
``serialNumber``; a 20-digit certificate number hidden in the serial; FIEL key usages + extended key
usages, or a CSD's ``OU`` and bare key usage. Nothing here is trusted by anyone but the demo.

Key generation (RSA-2048) takes ~50-100 ms; pass ``key=`` to reuse one key for speed in tests and
benchmarks (the certificates then share a public key, which the checks do not mind).
"""

from __future__ import annotations

import csv
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.padding import PKCS7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signers.seal import key_usage

DEMO_CA_NAME = "AC DEMO - NO ES SAT"
DEMO_ORG = "buzon-masivo DEMO - NO ES SAT"
SAT_ITERATIONS = 2048

# --- a tiny DER encoder: just what EncryptedPrivateKeyInfo needs -------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def encrypt_key_sat(
    key: rsa.RSAPrivateKey,
    password: str,
    *,
    iterations: int = SAT_ITERATIONS,
) -> bytes:
    """``key`` as SAT ships it: DER PKCS#8, PBES2 with PBKDF2-HMAC-SHA1 and DES-EDE3-CBC."""
    plain = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = secrets.token_bytes(8), secrets.token_bytes(8)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA1(), length=24, salt=salt, iterations=iterations)
    secret = kdf.derive(password.encode("utf-8"))
    padder = PKCS7(64).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(TripleDES(secret), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    algorithm = _seq(
        _oid("1.2.840.113549.1.5.13"),  # PBES2
        _seq(
            _seq(_oid("1.2.840.113549.1.5.12"), _seq(_octets(salt), _int(iterations))),  # PBKDF2
            _seq(_oid("1.2.840.113549.3.7"), _octets(iv)),  # des-EDE3-CBC
        ),
    )
    return _seq(algorithm, _octets(encrypted))


# --- certificates ------------------------------------------------------------------------------


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_numero() -> str:
    """A random 20-digit certificate number (demo numbers start with 9; SAT's do not)."""
    return "9" + "".join(secrets.choice("0123456789") for _ in range(19))


@dataclass(frozen=True)
class Autoridad:
    """A certificate authority: its certificate and key."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def make_ca(
    now: datetime,
    *,
    nombre: str = DEMO_CA_NAME,
    key: rsa.RSAPrivateKey | None = None,
) -> Autoridad:
    """A self-signed CA. The default name says, in the certificate itself, that it is not SAT's."""
    key = key or new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, nombre),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORG),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365))
        .not_valid_after(now + timedelta(days=365 * 10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            key_usage(key_cert_sign=True, crl_sign=True),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Autoridad(cert=cert, key=key)


def _curp_for(rfc: str) -> str:
    # Shaped like a CURP (18 chars), derived from the RFC so demo data is reproducible per RFC.
    return (rfc[:10] + "HDFDMO01")[:18]


def make_certificate(
    ca: Autoridad,
    rfc: str,
    *,
    key: rsa.RSAPrivateKey,
    nombre: str | None = None,
    representante: tuple[str, str] | None = None,
    curp: str | None = None,
    not_before: datetime,
    not_after: datetime,
    csd: bool = False,
    numero: str | None = None,
) -> x509.Certificate:
    """A SAT-shaped certificate for ``rfc``.

    ``representante=(RFC, CURP)`` makes a persona moral's FIEL (``"RFC / RFC_REP"``,
    ``" / CURP_REP"``); ``csd=True`` makes a sello digital certificate (OU, bare key usage).
    """
    numero = numero or new_numero()
    nombre = nombre or f"{rfc} DEMO"
    if representante:
        unique, serial_attr = f"{rfc} / {representante[0]}", f" / {representante[1]}"
    else:
        unique, serial_attr = rfc, curp or _curp_for(rfc)
    attrs = [
        x509.NameAttribute(NameOID.COMMON_NAME, nombre),
        x509.NameAttribute(NameOID.PSEUDONYM, nombre),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, nombre),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
        x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, unique),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_attr),
    ]
    if csd:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Sucursal 1"))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(numero.encode("ascii"), "big"))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            key_usage(
                digital_signature=True,
                content_commitment=True,
                data_encipherment=not csd,
                key_agreement=not csd,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if not csd:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    return builder.sign(ca.key, hashes.SHA256())


def write_keystore(
    folder: Path,
    rfcs: dict[str, str | None] | list[str],
    now: datetime,
    *,
    ca: Autoridad | None = None,
    key: rsa.RSAPrivateKey | None = None,
    iterations: int = SAT_ITERATIONS,
) -> Autoridad:
    """Demo FIELs for ``rfcs`` (RFC -> name) into ``folder`` in the ``buzon activate`` layout.

    Writes ``<RFC>.cer`` (DER), ``<RFC>.key`` (SAT-style encrypted DER), ``passwords.csv`` (mode
    0600) and the CA under ``ac/`` (point ``BUZON_SAT_CA_DIR`` there to try the chain check).
    A persona moral (12-char RFC) gets a demo representative. Returns the CA.
    """
    names = rfcs if isinstance(rfcs, dict) else dict.fromkeys(rfcs)
    ca = ca or make_ca(now)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ac").mkdir(exist_ok=True)
    (folder / "ac" / "ac-demo-no-es-sat.cer").write_bytes(
        ca.cert.public_bytes(serialization.Encoding.DER)
    )
    passwords: list[tuple[str, str]] = []
    for rfc, nombre in names.items():
        own = key or new_key()
        rep = ("DEMR800101AB1", "DEMR800101HDFMRS01") if len(rfc) == 12 else None
        cert = make_certificate(
            ca,
            rfc,
            key=own,
            nombre=nombre,
            representante=rep,
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=365 * 4),
        )
        password = secrets.token_urlsafe(12)
        (folder / f"{rfc}.cer").write_bytes(cert.public_bytes(serialization.Encoding.DER))
        (folder / f"{rfc}.key").write_bytes(encrypt_key_sat(own, password, iterations=iterations))
        passwords.append((rfc, password))
    target = folder / "passwords.csv"
    # Created 0600 from the start: the passwords never sit in a readable file, even briefly.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["rfc", "password"])
        writer.writerows(passwords)
    return ca
