"""Revocation by OCSP (RFC 6960): ask ``BUZON_SAT_OCSP_URL`` whether an e.firma is revoked.

The request names the certificate by its issuer (from ``BUZON_SAT_CA_DIR``) and serial; the
answer counts only when it is signed by that issuer (or by a responder certificate the issuer
signed), names this certificate and is current. Revoked is :class:`EfirmaRevocada`; anything
that leaves the question open (responder down, HTTP error, garbage, unsigned or stale answer,
status unknown) is :class:`EfirmaRevocacionNoVerificada` for that RFC: never a pass, never a crash.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from buzon.errors import ConfigError, EfirmaRevocacionNoVerificada, EfirmaRevocada
from buzon.settings import Settings
from signers.efirma import Certificado

# A responder's clock may run a little ahead of ours.
SKEW = timedelta(minutes=5)


def _verify_signed_by(issuer: x509.Certificate, data: bytes, signature: bytes, algo) -> bool:  # noqa: ANN001
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algo)
        else:  # pragma: no cover - SAT's CAs are RSA
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Ocsp:
    """An OCSP responder and the trusted issuers it answers for."""

    url: str
    trusted: list[x509.Certificate]
    timeout: float = 10.0

    def _post(self, body: bytes) -> bytes:
        req = urllib.request.Request(
            self.url,
            data=body,
            headers={
                "Content-Type": "application/ocsp-request",
                "Accept": "application/ocsp-response",
            },
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - operator's URL
            return resp.read()

    def check(self, certificado: Certificado, *, now: datetime) -> None:
        """Raise unless the responder says, in a signed and current answer, that it is good."""
        numero = certificado.numero_certificado
        cert = certificado.cert

        def open_question(why: str) -> EfirmaRevocacionNoVerificada:
            return EfirmaRevocacionNoVerificada(
                f"no se pudo verificar la revocación de la e.firma: {why}",
                numero_certificado=numero,
            )

        issuer = next((ca for ca in self.trusted if ca.subject == cert.issuer), None)
        if issuer is None:
            raise open_question("el emisor no está en BUZON_SAT_CA_DIR")
        request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
        try:
            raw = self._post(request.public_bytes(serialization.Encoding.DER))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise open_question(f"el servicio OCSP no respondió ({exc})") from None
        try:
            resp = ocsp.load_der_ocsp_response(raw)
        except ValueError:
            raise open_question("la respuesta OCSP no es legible") from None
        if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise open_question(f"el servicio OCSP respondió {resp.response_status.name}")
        try:
            signer = self._signer(resp, issuer)
            ok = signer is not None and _verify_signed_by(
                signer, resp.tbs_response_bytes, resp.signature, resp.signature_hash_algorithm
            )
        except (ValueError, UnsupportedAlgorithm):
            ok = False
        if not ok:
            raise open_question("la respuesta OCSP no está firmada por el emisor")
        single = next(
            (
                r
                for r in resp.responses
                if r.serial_number == cert.serial_number
                and r.issuer_key_hash == request.issuer_key_hash
            ),
            None,
        )
        if single is None:
            raise open_question("la respuesta OCSP no menciona este certificado")
        if single.this_update_utc > now + SKEW or (
            single.next_update_utc is not None and single.next_update_utc < now - SKEW
        ):
            raise open_question("la respuesta OCSP no está vigente")
        if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            when = single.revocation_time_utc
            raise EfirmaRevocada(
                "la e.firma fue revocada"
                + (f" el {when:%Y-%m-%d %H:%M} UTC" if when is not None else ""),
                numero_certificado=numero,
            )
        if single.certificate_status != ocsp.OCSPCertStatus.GOOD:
            raise open_question("el servicio OCSP no conoce el certificado")

    @staticmethod
    def _signer(resp: ocsp.OCSPResponse, issuer: x509.Certificate) -> x509.Certificate | None:
        """The issuer itself, or a delegated responder certificate the issuer signed."""
        if resp.responder_name == issuer.subject or (
            resp.responder_key_hash is not None
            and resp.responder_key_hash
            == x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest
        ):
            return issuer
        for cert in resp.certificates:
            # Only a certificate the issuer made for OCSP signing: any FIEL it issued is not one.
            try:
                eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
                cert.verify_directly_issued_by(issuer)
            except (x509.ExtensionNotFound, InvalidSignature, ValueError, TypeError):
                continue
            if ExtendedKeyUsageOID.OCSP_SIGNING in eku:
                return cert
        return None


def from_settings(settings: Settings, trusted: list[x509.Certificate] | None) -> Ocsp | None:
    """The configured responder, or ``None`` when ``BUZON_SAT_OCSP_URL`` is not set."""
    if not settings.sat_ocsp_url:
        return None
    if not trusted:
        raise ConfigError(
            "BUZON_SAT_OCSP_URL requiere BUZON_SAT_CA_DIR (el emisor de cada consulta)"
        )
    return Ocsp(url=settings.sat_ocsp_url, trusted=trusted, timeout=settings.sat_ocsp_timeout)
