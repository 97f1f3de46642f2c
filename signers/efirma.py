"""SAT e.firma (FIEL): load the ``.cer``/``.key`` pair, check it can sign for an RFC, and sign.

Facts mirrored here (DESIGN.md §2): the certificate is DER X.509 (PEM accepted for convenience); the
key is a PKCS#8 ``EncryptedPrivateKeyInfo`` (PBES2, 3DES) in DER (PEM accepted). The subject carries
the RFC in ``x500UniqueIdentifier`` (2.5.4.45) as ``"RFC"`` or ``"RFC / RFC_REPRESENTANTE"`` and the
CURP in ``serialNumber`` (2.5.4.5) as ``"CURP"`` or ``" / CURP_REPRESENTANTE"``; the 20-digit
certificate number is the ASCII text hidden in the serial's bytes. A CSD (sello digital) carries an
``OU`` and only digitalSignature + nonRepudiation; it cannot sign the Terms and Conditions.

Checks run in a fixed order, so one pair always reports the same first problem::

    archivo inválido -> contraseña -> llave no corresponde -> CSD -> vigencia -> RFC -> emisor

Signing is RSA PKCS#1 v1.5 with SHA-256 over the exact UTF-8 bytes, base64-encoded.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

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

FIEL = "FIEL"
CSD = "CSD"
_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.+?)-----END \1-----", re.S)
_CA_SUFFIXES = {".cer", ".crt", ".pem", ".der"}


def _der_complete(data: bytes) -> bool:
    """Whether ``data`` is exactly one DER SEQUENCE (catches truncated or padded files)."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return 2 + first == len(data)
    n = first & 0x7F
    if n == 0 or n > 4 or len(data) < 2 + n:
        return False
    return 2 + n + int.from_bytes(data[2 : 2 + n], "big") == len(data)


def _pem_body(data: bytes) -> tuple[str, bytes] | None:
    match = _PEM_RE.search(data)
    if match is None:
        return None
    try:
        body = base64.b64decode(b"".join(match.group(2).split()), validate=True)
    except ValueError:
        return None
    return match.group(1).decode(), body


def _split(value: str | None) -> tuple[str | None, str | None]:
    """``"A / B"`` -> (A, B); ``" / B"`` -> (None, B); ``"A"`` -> (A, None)."""
    if value is None:
        return None, None
    head, sep, tail = value.partition("/")
    return (head.strip() or None), ((tail.strip() or None) if sep else None)


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    if not attrs:
        return None
    value = attrs[0].value
    return value.decode("latin-1") if isinstance(value, bytes) else value


def numero_certificado(serial: int) -> str:
    """The SAT certificate number: the serial's bytes read as ASCII digits.

    >>> numero_certificado(int.from_bytes(b"30001000000500003416", "big"))
    '30001000000500003416'

    A serial hiding no digits (not a SAT-style certificate) falls back to its last 20 hex digits.
    """
    raw = serial.to_bytes((serial.bit_length() + 7) // 8 or 1, "big")
    if raw.isdigit():
        return raw.decode("ascii")
    return format(serial, "x")[-20:]


@dataclass(frozen=True)
class Certificado:
    """A parsed e.firma certificate; every field the acuse and ``efirma check`` report."""

    cert: x509.Certificate
    archivo: str | None = None

    @classmethod
    def from_bytes(cls, data: bytes, *, archivo: str | None = None) -> Certificado:
        """Parse DER (SAT's form) or PEM; anything else is :class:`EfirmaArchivoInvalido`."""
        pem = _pem_body(data) if data.lstrip()[:5] == b"-----" else None
        der = pem[1] if pem is not None else data
        if not _der_complete(der):
            raise EfirmaArchivoInvalido(
                "el archivo .cer no es un certificado válido (¿incompleto o dañado?)",
                archivo=archivo,
            )
        try:
            cert = x509.load_der_x509_certificate(der)
            cert.subject  # noqa: B018 - parse eagerly so errors surface here
            cert.serial_number  # noqa: B018
        except (ValueError, UnsupportedAlgorithm):
            raise EfirmaArchivoInvalido(
                "el archivo .cer no es un certificado X.509 legible", archivo=archivo
            ) from None
        if not isinstance(cert.public_key(), rsa.RSAPublicKey):
            raise EfirmaArchivoInvalido("el certificado no tiene llave RSA", archivo=archivo)
        return cls(cert=cert, archivo=archivo)

    @classmethod
    def load(cls, path: Path) -> Certificado:
        return cls.from_bytes(_read(path, "certificado"), archivo=str(path))

    @cached_property
    def _rfcs(self) -> tuple[str | None, str | None]:
        return _split(_attr(self.cert.subject, NameOID.X500_UNIQUE_IDENTIFIER))

    @property
    def rfc(self) -> str | None:
        return self._rfcs[0]

    @property
    def rfc_representante(self) -> str | None:
        return self._rfcs[1]

    @cached_property
    def _curps(self) -> tuple[str | None, str | None]:
        return _split(_attr(self.cert.subject, NameOID.SERIAL_NUMBER))

    @property
    def curp(self) -> str | None:
        """The holder's CURP (persona física), else the representative's (persona moral)."""
        return self._curps[0] or self._curps[1]

    @property
    def nombre(self) -> str | None:
        subject = self.cert.subject
        return (
            _attr(subject, NameOID.COMMON_NAME)
            or _attr(subject, NameOID.ORGANIZATION_NAME)
            or _attr(subject, NameOID.PSEUDONYM)
        )

    @property
    def emisor(self) -> str:
        issuer = self.cert.issuer
        return _attr(issuer, NameOID.COMMON_NAME) or issuer.rfc4514_string()

    @property
    def numero_certificado(self) -> str:
        return numero_certificado(self.cert.serial_number)

    @property
    def valido_desde(self) -> datetime:
        return self.cert.not_valid_before_utc

    @property
    def valido_hasta(self) -> datetime:
        return self.cert.not_valid_after_utc

    @cached_property
    def tipo(self) -> str:
        """``CSD`` when the subject has an OU or the key usage is the CSD's bare pair; else FIEL."""
        if self.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
            return CSD
        try:
            self.cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE)
            return FIEL
        except x509.ExtensionNotFound:
            pass
        try:
            ku = self.cert.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            return FIEL
        bare = ku.digital_signature and ku.content_commitment and not ku.key_agreement
        return CSD if bare and not ku.data_encipherment and not ku.key_encipherment else FIEL

    @cached_property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def info(self) -> dict[str, str | None]:
        """The fields ``buzon efirma check --json`` prints."""
        return {
            "tipo": self.tipo,
            "rfc": self.rfc,
            "rfc_representante": self.rfc_representante,
            "curp": self.curp,
            "nombre": self.nombre,
            "numero_certificado": self.numero_certificado,
            "valido_desde": self.valido_desde.isoformat(),
            "valido_hasta": self.valido_hasta.isoformat(),
            "emisor": self.emisor,
        }

    def verify(self, text: str | bytes, firma_b64: str) -> bool:
        """Whether ``firma_b64`` is this certificate's RSA-SHA256 signature of ``text``."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        try:
            self.cert.public_key().verify(  # type: ignore[call-arg]
                base64.b64decode(firma_b64), data, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise EfirmaArchivoInvalido(
            f"no se pudo leer el archivo de {what}: {exc.strerror or exc}", archivo=str(path)
        ) from None


def load_key(
    data: bytes,
    password: str | bytes | None,
    *,
    archivo: str | None = None,
    validate: bool = False,
) -> rsa.RSAPrivateKey:
    """Decrypt a PKCS#8 key (DER or PEM). A structurally sound file that fails is a wrong password.

    ``validate=True`` runs OpenSSL's full RSA consistency check (primality of p and q), which costs
    ~60 ms a key, about 50x the decryption itself (PBKDF2 at SAT's 2048 iterations is ~1 ms). Bulk
    activation skips it: the key must match the certificate's public key, and every signature is
    verified against the certificate before it is used, so a malformed key can never yield a bad
    or fault-leaking signature unnoticed.
    """
    pem = _pem_body(data) if data.lstrip()[:5] == b"-----" else None
    der = pem[1] if pem is not None else data
    if not _der_complete(der):
        raise EfirmaArchivoInvalido(
            "el archivo .key no es una llave privada válida (¿incompleto o dañado?)",
            archivo=archivo,
        )
    secret = password.encode("utf-8") if isinstance(password, str) else password
    try:
        try:
            key = serialization.load_der_private_key(
                der, secret or None, unsafe_skip_rsa_key_validation=not validate
            )
        except TypeError:
            # An unencrypted key given a password (or the reverse): retry without it, so that
            # only a genuinely encrypted key reports a missing password below.
            key = serialization.load_der_private_key(
                der, None, unsafe_skip_rsa_key_validation=not validate
            )
    except TypeError:
        raise EfirmaContrasena(
            "la llave privada está cifrada y falta la contraseña", archivo=archivo
        ) from None
    except ValueError:
        raise EfirmaContrasena(
            "la contraseña de la llave privada (.key) es incorrecta", archivo=archivo
        ) from None
    except UnsupportedAlgorithm:
        raise EfirmaArchivoInvalido(
            "el archivo .key usa un cifrado no soportado", archivo=archivo
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise EfirmaArchivoInvalido("la llave privada no es RSA", archivo=archivo)
    return key


@dataclass(frozen=True)
class Efirma:
    """A certificate with the private key that matches it; it can sign."""

    certificado: Certificado
    llave: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def from_bytes(
        cls,
        cer: bytes,
        key: bytes,
        password: str | bytes | None,
        *,
        cer_name: str | None = None,
        key_name: str | None = None,
        validate: bool = False,
    ) -> Efirma:
        certificado = Certificado.from_bytes(cer, archivo=cer_name)
        llave = load_key(key, password, archivo=key_name, validate=validate)
        if llave.public_key().public_numbers() != certificado.cert.public_key().public_numbers():
            raise EfirmaLlaveNoCorresponde(
                "la llave privada (.key) no corresponde al certificado (.cer)",
                numero_certificado=certificado.numero_certificado,
            )
        return cls(certificado=certificado, llave=llave)

    @classmethod
    def load(
        cls, cer: Path, key: Path, password: str | bytes | None, *, validate: bool = False
    ) -> Efirma:
        return cls.from_bytes(
            _read(cer, "certificado"),
            _read(key, "llave privada"),
            password,
            cer_name=str(cer),
            key_name=str(key),
            validate=validate,
        )

    def sign(self, text: str | bytes) -> str:
        """RSA PKCS#1 v1.5 SHA-256 over the exact UTF-8 bytes of ``text``, base64.

        The signature is verified with the certificate before it is returned (~0.05 ms).
        """
        data = text.encode("utf-8") if isinstance(text, str) else text
        firma = self.llave.sign(data, padding.PKCS1v15(), hashes.SHA256())
        try:
            self.certificado.cert.public_key().verify(  # type: ignore[call-arg]
                firma, data, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise EfirmaLlaveNoCorresponde(
                "la llave privada produjo una firma que el certificado no verifica",
                numero_certificado=self.certificado.numero_certificado,
            ) from None
        return base64.b64encode(firma).decode()


class Revocacion(Protocol):
    """Something that raises when a certificate is revoked (or that cannot be told)."""

    def check(self, certificado: Certificado, *, now: datetime) -> None: ...


def load_trusted(ca_dir: Path | None) -> list[x509.Certificate] | None:
    """The trusted SAT CA certificates under ``ca_dir`` (DER or PEM); ``None`` = no chain check."""
    if ca_dir is None:
        return None
    folder = Path(ca_dir)
    if not folder.is_dir():
        raise ConfigError(f"BUZON_SAT_CA_DIR no es una carpeta: {folder}")
    found: list[x509.Certificate] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in _CA_SUFFIXES or not path.is_file():
            continue
        data = path.read_bytes()
        try:
            if b"-----BEGIN" in data:
                found.extend(x509.load_pem_x509_certificates(data))
            else:
                found.append(x509.load_der_x509_certificate(data))
        except ValueError:
            raise ConfigError(f"certificado de AC ilegible en BUZON_SAT_CA_DIR: {path}") from None
    if not found:
        raise ConfigError(f"BUZON_SAT_CA_DIR no contiene certificados (.cer, .crt, .pem): {folder}")
    return found


def check(
    certificado: Certificado,
    *,
    now: datetime,
    rfc: str | None = None,
    trusted: list[x509.Certificate] | None = None,
    revocation: Revocacion | None = None,
) -> None:
    """Raise the first reason this certificate cannot sign the T&C for ``rfc`` at ``now``.

    ``revocation`` (``signers.ocsp.Ocsp`` when ``BUZON_SAT_OCSP_URL`` is set) runs last: it is
    the only check that leaves the machine.
    """
    numero = certificado.numero_certificado
    if certificado.tipo == CSD:
        raise EfirmaEsCsd(
            "el certificado es un CSD (sello digital), no una e.firma (FIEL)",
            numero_certificado=numero,
        )
    if now < certificado.valido_desde:
        raise EfirmaNoVigente(
            "la e.firma aún no es vigente "
            f"(válida desde {certificado.valido_desde:%Y-%m-%d %H:%M} UTC)",
            numero_certificado=numero,
        )
    if now > certificado.valido_hasta:
        raise EfirmaVencida(
            f"la e.firma venció el {certificado.valido_hasta:%Y-%m-%d %H:%M} UTC",
            numero_certificado=numero,
        )
    if rfc is not None and (certificado.rfc or "").upper() != rfc.upper():
        raise EfirmaRfcDistinto(
            f"la e.firma es del RFC {certificado.rfc or '(sin RFC)'}, no de {rfc}",
            numero_certificado=numero,
        )
    if trusted is not None:
        _check_chain(certificado, trusted)
    if revocation is not None:
        revocation.check(certificado, now=now)


def _check_chain(certificado: Certificado, trusted: list[x509.Certificate]) -> None:
    issuers = [ca for ca in trusted if ca.subject == certificado.cert.issuer]
    if not issuers:
        raise EfirmaEmisorNoConfiable(
            f"el emisor «{certificado.emisor}» no está entre las AC de confianza",
            numero_certificado=certificado.numero_certificado,
        )
    for ca in issuers:
        try:
            certificado.cert.verify_directly_issued_by(ca)
            return
        except (InvalidSignature, ValueError, TypeError):
            continue
    raise EfirmaEmisorNoConfiable(
        f"la firma del certificado no corresponde a la AC «{certificado.emisor}»",
        numero_certificado=certificado.numero_certificado,
    )


def load_and_check(
    cer: Path,
    key: Path,
    password: str | bytes | None,
    *,
    now: datetime,
    rfc: str | None = None,
    trusted: list[x509.Certificate] | None = None,
    validate: bool = False,
    revocation: Revocacion | None = None,
) -> Efirma:
    """Load the pair and run every check; the :class:`Efirma` returned can sign for ``rfc`` now."""
    efirma = Efirma.load(cer, key, password, validate=validate)
    check(efirma.certificado, now=now, rfc=rfc, trusted=trusted, revocation=revocation)
    return efirma
