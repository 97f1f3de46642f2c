"""Signing requests: the folder a holder signs on their own machine, and what they bring back.

A request folder ``DIR/<RFC>/`` holds (docs/FOLIOS_Y_ACUSES.md pins the cadena)::

    cadena.txt       the exact bytes to sign (UTF-8, one line, no trailing newline)
    terminos.txt     the full T&C text those bytes commit to (by version and SHA-256)
    LEEME.txt        how to sign, with ``buzon efirma firmar`` or with openssl alone
    firma.b64        written by the holder: base64 of RSA PKCS#1 v1.5 SHA-256 over cadena.txt
    efirma.cer       written by the holder: their e.firma certificate (DER as SAT ships it; PEM ok)
    representante/   the legal representative's firma.b64 + efirma.cer over the same cadena.txt

The private key and its password never enter the folder: signing happens where the key is.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from buzon.errors import EfirmaArchivoInvalido, EfirmaFirmaInvalida, SolicitudDesconocida
from signers.efirma import Certificado, Efirma

PREFIJO = "SOLICITUD-TERMINOS"
VERSION = "1.0"
CADENA, TERMINOS, LEEME = "cadena.txt", "terminos.txt", "LEEME.txt"
FIRMA, CERTIFICADO, REPRESENTANTE = "firma.b64", "efirma.cer", "representante"


@dataclass(frozen=True)
class Cabecera:
    """What a request cadena names: its folio and the particular's RFC."""

    folio: str
    rfc: str


def parse_cabecera(cadena: bytes) -> Cabecera:
    """Read folio and RFC from a request cadena (fields 3 and 5; neither can hold a ``|``).

    >>> parse_cabecera(b"||SOLICITUD-TERMINOS|1.0|BI-20250301-120000000|2025-03-01T06:00:00-06:00"
    ...                b"|EKU9003173C9|1.1|ab12||")
    Cabecera(folio='BI-20250301-120000000', rfc='EKU9003173C9')
    """
    try:
        text = cadena.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    parts = text.split("|", 7)
    if len(parts) < 8 or parts[:4] != ["", "", PREFIJO, VERSION] or not text.endswith("||"):
        raise SolicitudDesconocida("cadena.txt no es una solicitud de firma de este registro")
    return Cabecera(folio=parts[4], rfc=parts[6])


# RSA signature sizes (1024-4096-bit keys): a firma.b64 holding the raw bytes that ``openssl dgst
# -sign -out`` writes is accepted too; the signature is verified either way.
_RAW_SIZES = {128, 256, 384, 512}


def _decode(data: bytes) -> bytes:
    try:
        return base64.b64decode(b"".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        if len(data) in _RAW_SIZES:
            return data
        raise


def read_firma(path: Path) -> str:
    """``firma.b64`` as canonical base64 (line breaks and spaces from ``base64`` tools ignored)."""
    try:
        raw = _decode(path.read_bytes())
    except (binascii.Error, ValueError):
        raise EfirmaFirmaInvalida(
            f"{path.name} no contiene base64 válido", archivo=str(path)
        ) from None
    except OSError as exc:
        raise EfirmaFirmaInvalida(
            f"no se pudo leer {path.name}: {exc.strerror or exc}", archivo=str(path)
        ) from None
    if not raw:
        raise EfirmaFirmaInvalida(f"{path.name} está vacío", archivo=str(path))
    return base64.b64encode(raw).decode("ascii")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_cadena(folder: Path) -> bytes:
    path = Path(folder) / CADENA
    try:
        return path.read_bytes()
    except OSError:
        raise SolicitudDesconocida(
            f"falta {CADENA} en la carpeta de la solicitud", archivo=str(folder)
        ) from None


def sign_solicitud(folder: Path, efirma: Efirma, *, representante: bool = False) -> Path:
    """Sign ``folder/cadena.txt`` as is; write ``firma.b64`` and ``efirma.cer`` (DER).

    With ``representante`` both go to ``folder/representante/``. Returns the folder written to.
    Nothing else is written: the key stays with whoever holds it.
    """
    folder = Path(folder)
    cadena = read_cadena(folder)
    parse_cabecera(cadena)
    firma = efirma.sign(cadena)
    dest = folder / REPRESENTANTE if representante else folder
    dest.mkdir(exist_ok=True)
    der = efirma.certificado.cert.public_bytes(serialization.Encoding.DER)
    _write_atomic(dest / CERTIFICADO, der)
    _write_atomic(dest / FIRMA, firma.encode("ascii"))
    return dest


@dataclass(frozen=True)
class Firmante:
    """One signer's contribution: the firma (canonical base64) and the certificate bytes.

    ``parsed`` may carry the certificate already parsed from exactly those bytes (the keystore
    path has it in hand), which saves parsing it twice; every check still runs on it.
    """

    firma: str
    certificado: bytes
    parsed: Certificado | None = field(default=None, compare=False, repr=False)

    def cert(self) -> Certificado:
        if self.parsed is not None:
            return self.parsed
        return Certificado.from_bytes(self.certificado, archivo=CERTIFICADO)


@dataclass(frozen=True)
class Entrega:
    """What came back for one request folder (``titular`` and/or ``representante``)."""

    rfc: str
    cadena: bytes
    titular: Firmante | None
    representante: Firmante | None


def _firmante(folder: Path) -> Firmante | None:
    firma, cer = folder / FIRMA, folder / CERTIFICADO
    if not firma.is_file() and not cer.is_file():
        return None
    if not cer.is_file():
        raise EfirmaArchivoInvalido(f"falta {CERTIFICADO} junto a {FIRMA}", archivo=str(folder))
    if not firma.is_file():
        raise EfirmaFirmaInvalida(f"falta {FIRMA} junto a {CERTIFICADO}", archivo=str(folder))
    try:
        data = cer.read_bytes()
    except OSError as exc:
        raise EfirmaArchivoInvalido(
            f"no se pudo leer {CERTIFICADO}: {exc.strerror or exc}", archivo=str(cer)
        ) from None
    return Firmante(firma=read_firma(firma), certificado=data)


def read_entrega(folder: Path) -> Entrega | None:
    """The signatures in one request folder; ``None`` when nobody has signed it yet."""
    folder = Path(folder)
    rep_dir = folder / REPRESENTANTE
    has_any = any((d / n).is_file() for d in (folder, rep_dir) for n in (FIRMA, CERTIFICADO))
    if not has_any:
        return None
    return Entrega(
        rfc=folder.name.upper(),
        cadena=read_cadena(folder),
        titular=_firmante(folder),
        representante=_firmante(rep_dir) if rep_dir.is_dir() else None,
    )


def verify_firmas(item: dict, certificado_pem: Callable[[str], str | None]) -> list[str]:
    """Check every firma of an exported T&C acuse; the Spanish reasons it fails (empty = ok).

    ``item`` is one ``acuses.jsonl`` object; ``certificado_pem(numero)`` returns the PEM of that
    certificate (``certificados/<numero>.pem``) or ``None``. Firmas cover ``cadena_firmada`` when
    present (signing requests, cadena 3.1), else the acuse's own cadena (acuses before 3.1).
    For ``buzon verify``.
    """
    cadena = item.get("cadena_firmada") or item.get("cadena_original") or ""
    fallas: list[str] = []
    for quien, firma_key, numero_key in (
        ("particular", "firma", "numero_certificado"),
        ("representante", "firma_representante", "numero_certificado_representante"),
    ):
        firma, numero = item.get(firma_key), item.get(numero_key)
        if not firma and not numero:
            continue
        pem = certificado_pem(numero) if numero else None
        if not firma or pem is None:
            fallas.append(f"falta la firma o el certificado del {quien} ({numero or 'sin número'})")
            continue
        try:
            cert = Certificado.from_bytes(pem.encode("ascii"))
        except (EfirmaArchivoInvalido, UnicodeEncodeError):
            fallas.append(f"el certificado del {quien} ({numero}) no es legible")
            continue
        if cert.numero_certificado != numero:
            fallas.append(f"el certificado del {quien} no es el número {numero}")
        elif not cert.verify(cadena, firma):
            fallas.append(f"la firma del {quien} ({numero}) no corresponde a la cadena firmada")
    return fallas
