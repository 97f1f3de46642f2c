"""The institution seal: the key and certificate that put the *sello digital* on every acuse.

Production points ``BUZON_SEAL_KEY`` / ``BUZON_SEAL_CERT`` (PEM, key optionally encrypted with
``BUZON_SEAL_KEY_PASSWORD``) at its own pair. The embedded default makes an RSA-2048 key and a
self-signed certificate under ``$BUZON_HOME/keys/`` on first use.

Signature: RSA PKCS#1 v1.5 with SHA-256 over the UTF-8 cadena original, base64 — checkable with
``openssl dgst -sha256 -verify`` and the certificate's public key alone.
"""

from __future__ import annotations

import base64
import fcntl
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from buzon.errors import ConfigError
from buzon.files import PRIVATE_FILE, atomic_write, private_dir
from buzon.settings import Settings

# The embedded default's certificate says in its subject that it is a demonstration seal; every
# printed acuse sealed with it carries this mark (reports/pdf.py). A configured seal carries none.
MARCA_DEMO = "DEMOSTRACIÓN — SIN VALIDEZ OFICIAL"
KEY_FILE = "sello.key.pem"
CERT_FILE = "sello.cert.pem"
# Below this a thread pool costs more than it saves. cryptography releases the GIL while signing,
# so threads use every core without the start-up cost of a process pool.
PARALLEL_MIN = 256
PART = 2000  # sellos per background task: small enough to store them while the rest are signed


@dataclass(frozen=True)
class Sello:
    """A loaded institution key with its certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def load(cls, settings: Settings) -> Sello:
        """The configured pair, or the embedded default (created on first use)."""
        if settings.seal_key or settings.seal_cert:
            if not (settings.seal_key and settings.seal_cert):
                raise ConfigError("el sello requiere BUZON_SEAL_KEY y BUZON_SEAL_CERT juntos")
            password = settings.seal_key_password
            return cls._from_files(
                settings.seal_key,
                settings.seal_cert,
                password.get_secret_value().encode() if password else None,
            )
        key_path, cert_path = _ensure_default(settings.keys_dir)
        return cls._from_files(key_path, cert_path, None)

    @classmethod
    def _from_files(cls, key_path: Path, cert_path: Path, password: bytes | None) -> Sello:
        try:
            key_bytes = key_path.read_bytes()
            cert_bytes = cert_path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                "no se puede leer el archivo del sello", archivo=exc.filename, motivo=exc.strerror
            ) from None
        try:
            key = serialization.load_pem_private_key(key_bytes, password=password)
        except (ValueError, TypeError):
            raise ConfigError(
                "la llave del sello no es una llave PEM válida o la contraseña no corresponde",
                archivo=str(key_path),
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("la llave del sello debe ser RSA", archivo=str(key_path))
        try:
            cert = x509.load_pem_x509_certificate(cert_bytes)
        except ValueError:
            raise ConfigError(
                "el certificado del sello no es un X.509 PEM válido", archivo=str(cert_path)
            ) from None
        if cert.public_key().public_numbers() != key.public_key().public_numbers():
            raise ConfigError(
                "la llave del sello no corresponde a su certificado", archivo=str(cert_path)
            )
        return cls(key=key, certificate=cert)

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def numero_certificado(self) -> str:
        """The certificate serial as decimal digits (what acuses cite)."""
        return str(self.certificate.serial_number)

    @property
    def demo(self) -> bool:
        """Whether this is a demonstration seal (its certificate subject says so)."""
        return es_demo(self.certificate)

    def sign(self, text: str) -> str:
        """Base64 RSA PKCS#1 v1.5 SHA-256 signature over ``text`` encoded as UTF-8."""
        raw = self.key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode("ascii")

    def sign_bytes(self, data: bytes) -> str:
        """Base64 RSA PKCS#1 v1.5 SHA-256 signature over raw bytes (a bundle's manifest)."""
        raw = self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode("ascii")

    def sign_many(self, texts: Iterable[str]) -> list[str]:
        """:meth:`sign` for a batch, on every core when the batch is large."""
        return self.sign_many_async(texts)()

    def sign_many_async(self, texts: Iterable[str]) -> Sellos:
        """Start signing a batch in the background; call the result to wait for the sellos.

        Lets a caller do its database work while the cores sign.
        """
        items = list(texts)
        workers = min(os.cpu_count() or 1, 8)
        if len(items) < PARALLEL_MIN or workers == 1:
            return Sellos([[self.sign(t) for t in items]])
        pool = _pool(workers)
        return Sellos(
            [pool.submit(self._sign_part, items[i : i + PART]) for i in range(0, len(items), PART)]
        )

    def _sign_part(self, texts: Sequence[str]) -> list[str]:
        return [self.sign(t) for t in texts]

    def verify(self, text: str, sello: str) -> bool:
        """Whether ``sello`` is this certificate's signature over ``text``."""
        return verifica(self.certificate, text.encode("utf-8"), sello)


def verifica(certificate: x509.Certificate, data: bytes, firma: str) -> bool:
    """Whether the base64 ``firma`` is ``certificate``'s RSA PKCS#1 v1.5 SHA-256 signature over
    ``data`` (sellos, e.firma signatures, bundle manifests)."""
    from cryptography.exceptions import InvalidSignature

    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(
            base64.b64decode(firma, validate=True), data, padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


class Sellos:
    """Sellos being made in the background, in the order of their texts.

    Call it for all of them; iterate it for each part as soon as that part is done, so a caller
    can store the first parts while the cores still sign the rest.
    """

    def __init__(self, partes: Sequence[Future[list[str]] | list[str]]) -> None:
        self._partes = partes

    def __iter__(self) -> Iterator[list[str]]:
        for parte in self._partes:
            yield parte if isinstance(parte, list) else parte.result()

    def __call__(self) -> list[str]:
        return [s for parte in self for s in parte]


_USOS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def key_usage(**activos: bool) -> x509.KeyUsage:
    """A KeyUsage extension with only the named flags set (cryptography wants all nine)."""
    desconocidos = set(activos) - set(_USOS)
    if desconocidos:
        raise ValueError(f"unknown key usage: {sorted(desconocidos)}")
    return x509.KeyUsage(**{u: bool(activos.get(u, False)) for u in _USOS})


_POOL: ThreadPoolExecutor | None = None


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sello")
    return _POOL


def _ensure_default(keys_dir: Path) -> tuple[Path, Path]:
    key_path, cert_path = keys_dir / KEY_FILE, keys_dir / CERT_FILE
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    private_dir(keys_dir)
    # Two processes starting together: the lock makes the second one wait and then find the pair.
    with open(keys_dir / ".sello.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not key_path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            atomic_write(key_path, pem, mode=PRIVATE_FILE)
            cert_path.unlink(missing_ok=True)  # a certificate of an older key is useless
        if not cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            cert = _self_signed(key)
            # The certificate is public (anyone checks a sello with it): 0644, not the umask's.
            atomic_write(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return key_path, cert_path


def es_demo(certificate: x509.Certificate) -> bool:
    """A certificate whose subject names it a demonstration seal (also the older embedded ones,
    whose organization read «buzon-masivo (sello de demostración)»)."""
    return any("demostración" in str(a.value).lower() for a in certificate.subject)


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "MX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "buzon-masivo (sello de demostración)"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, MARCA_DEMO),
            x509.NameAttribute(NameOID.COMMON_NAME, "Sello digital de acuses buzon-masivo"),
        ]
    )
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            key_usage(digital_signature=True, content_commitment=True),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
