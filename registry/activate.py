"""Activation with a keystore: the signing-request path (``registry.firmas``), signed here.

Ready = the particular is not yet ``activado`` and has at least one ``validado`` email and one
``validado`` mobile at the RFC scope (``alcances.rp IS NULL``; ``registry.listos``). Per chunk:

1. open (or reuse) each ready RFC's signing request (``registry.firmas.open_solicitudes``);
2. load its FIEL from the keystore, check it and sign the request's exact bytes (threads: this
   is the CPU work), plus the representative's FIEL when the store has one (joint signature);
3. import the signatures exactly as ``activate --firmas`` does (``registry.firmas.importar``):
   one transaction issues the acuses and activates the RFCs.

So both ways produce the same acuse. A crash rolls a chunk's import back whole and leaves its
requests open; a re-run reuses them and activates nothing twice. One bad FIEL is reported and
never stops the others.

Keystore layout: ``DIR/<RFC>.cer``, ``DIR/<RFC>.key`` and passwords in ``DIR/passwords.csv``
(``rfc,password``; refused when group- or world-readable) or ``BUZON_EFIRMA_PASSWORD_<RFC>``,
read by the entry point and handed in as a mapping.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine

from buzon.errors import ConfigError, EfirmaArchivoInvalido, EfirmaContrasena, EfirmaError
from buzon.files import require_private
from buzon.settings import Settings
from registry.firmas import importar
from registry.listos import (  # noqa: F401 - re-exported: the flow and callers import them here
    ACTIVADO,
    FALTA_CORREO,
    FALTA_TELEFONO,
    NO_REGISTRADO,
    PENDIENTE,
    Resultado,
    candidatos,
)
from registry.solicitudes import Solicitud, open_solicitudes
from schemas.rfc import compact
from signers.efirma import Certificado, Efirma, Revocacion, load_and_check, load_trusted
from signers.ocsp import from_settings as ocsp_from_settings
from signers.seal import Sello
from signers.solicitud import Entrega, Firmante
from signers.tyc import Tyc
from signers.tyc import cargar as cargar_tyc

ENV_PREFIX = "BUZON_EFIRMA_PASSWORD_"
# Key loading and FIEL signing release the GIL in cryptography; two threads per core keep it busy.
WORKERS = 4


def env_name(rfc: str) -> str:
    """The per-RFC password variable; characters a shell cannot name (``&``, ``Ñ``) become ``_``.

    >>> env_name("EKU9003173C9"), env_name("AÑ&8001011A1")
    ('BUZON_EFIRMA_PASSWORD_EKU9003173C9', 'BUZON_EFIRMA_PASSWORD_A__8001011A1')
    """
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", rfc.upper())


@dataclass(frozen=True)
class Keystore:
    """A folder of ``<RFC>.cer``/``<RFC>.key`` pairs and their passwords (never printed)."""

    folder: Path
    passwords: Mapping[str, str] = field(repr=False)

    @classmethod
    def open(cls, folder: Path, env: Mapping[str, str]) -> Keystore:
        """Read ``passwords.csv`` (if any) and the ``BUZON_EFIRMA_PASSWORD_<RFC>`` variables."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ConfigError(f"el almacén de e.firmas no es una carpeta: {folder}")
        passwords: dict[str, str] = {}
        path = folder / "passwords.csv"
        if path.exists():
            # Any group or other bit refuses it, not only the read bits.
            require_private(path, what="passwords.csv")
            try:
                with path.open(newline="", encoding="utf-8-sig") as fh:
                    reader = csv.DictReader(fh)
                    if not reader.fieldnames or not {"rfc", "password"} <= set(reader.fieldnames):
                        raise ConfigError(
                            "passwords.csv debe tener las columnas rfc,password", archivo=str(path)
                        )
                    for row in reader:
                        rfc = (row["rfc"] or "").strip().upper()
                        if rfc:
                            passwords[rfc] = row["password"] or ""
            except (OSError, UnicodeDecodeError, csv.Error) as exc:
                raise ConfigError(
                    f"no se pudo leer passwords.csv: {exc}", archivo=str(path)
                ) from None
        prefix_len = len(ENV_PREFIX)
        from_env = {k[prefix_len:]: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
        return cls(folder=folder, passwords={**passwords, **from_env})

    def password(self, rfc: str) -> str | None:
        found = self.passwords.get(env_name(rfc)[len(ENV_PREFIX) :])
        return found if found is not None else self.passwords.get(rfc)

    def load(
        self,
        rfc: str,
        *,
        now: datetime,
        trusted: list[x509.Certificate] | None,
        representante: bool = False,
        revocation: Revocacion | None = None,
    ) -> Efirma:
        """``<RFC>.cer``/``.key`` checked for ``rfc``; or ``<RFC>.representante.cer/.key``
        (password under ``<RFC>.representante``), checked as a FIEL of anyone."""
        stem = f"{rfc}.representante" if representante else rfc
        cer, key = self.folder / f"{stem}.cer", self.folder / f"{stem}.key"
        for path in (cer, key):
            if not path.is_file():
                raise EfirmaArchivoInvalido(
                    f"no está {path.name} en el almacén de e.firmas", archivo=str(path)
                )
        password = self.password(stem.upper())
        if password is None:
            raise EfirmaContrasena(
                f"falta la contraseña: agréguela a passwords.csv o a {env_name(stem)}", rfc=rfc
            )
        return load_and_check(
            cer,
            key,
            password,
            now=now,
            rfc=None if representante else rfc,
            trusted=trusted,
            revocation=revocation,
        )

    def load_representante(
        self, rfc: str, *, now: datetime, trusted: list[x509.Certificate] | None
    ) -> Efirma | None:
        """The legal representative's FIEL for ``rfc`` (joint signature), when the store has one."""
        if not (self.folder / f"{rfc}.representante.cer").is_file():
            return None
        return self.load(rfc, now=now, trusted=trusted, representante=True)


def check_keystore(
    keystore: Keystore, settings: Settings, *, now: datetime
) -> tuple[list[str], dict[str, EfirmaError], dict[str, datetime]]:
    """Every FIEL of a keystore through the activation checks (``efirma check --keystore``).

    Returns the names that can sign (``<RFC>`` or ``<RFC>.representante``), the failures and each
    readable certificate's end of validity.
    """
    trusted = load_trusted(settings.sat_ca_dir)
    revocation = ocsp_from_settings(settings, trusted)
    nombres = sorted(p.name[: -len(".cer")] for p in keystore.folder.glob("*.cer") if p.is_file())

    def one(nombre: str) -> Efirma | EfirmaError:
        rfc, _, rep = nombre.partition(".")
        try:
            return keystore.load(
                rfc.upper(),
                now=now,
                trusted=trusted,
                representante=rep.lower() == "representante",
                revocation=revocation,
            )
        except EfirmaError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        done = dict(zip(nombres, pool.map(one, nombres), strict=True))
    ok = [n for n, d in done.items() if isinstance(d, Efirma)]
    failed = {n: d for n, d in done.items() if isinstance(d, EfirmaError)}
    vigencias = {n: d.certificado.valido_hasta for n, d in done.items() if isinstance(d, Efirma)}
    for n in failed:
        with contextlib.suppress(EfirmaError):
            vigencias[n] = Certificado.load(keystore.folder / f"{n}.cer").valido_hasta
    return ok, failed, vigencias


def _sign_all(
    keystore: Keystore,
    pedidas: Sequence[Solicitud],
    now: datetime,
    trusted: list[x509.Certificate] | None,
) -> tuple[list[Entrega], dict[str, EfirmaError]]:
    """Sign each request with the keystore's FIEL (and its representative's, when present)."""

    def firmante(efirma: Efirma, cadena: bytes) -> Firmante:
        der = efirma.certificado.cert.public_bytes(serialization.Encoding.DER)
        return Firmante(efirma.sign(cadena), der, parsed=efirma.certificado)

    def one(s: Solicitud) -> Entrega | EfirmaError:
        cadena = s.cadena.encode("utf-8")
        try:
            titular = firmante(keystore.load(s.rfc, now=now, trusted=trusted), cadena)
            rep = keystore.load_representante(s.rfc, now=now, trusted=trusted)
            return Entrega(s.rfc, cadena, titular, firmante(rep, cadena) if rep else None)
        except EfirmaError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        done = list(pool.map(one, pedidas))
    ok = [d for d in done if isinstance(d, Entrega)]
    bad = {s.rfc: d for s, d in zip(pedidas, done, strict=True) if isinstance(d, EfirmaError)}
    return ok, bad


def activar_chunk(
    engine: Engine,
    settings: Settings,
    keystore: Keystore,
    rfcs: Sequence[str],
    *,
    tyc: Tyc,
    sello: Sello,
    trusted: list[x509.Certificate] | None,
    now: datetime,
    revocation: Revocacion | None = None,
) -> Resultado:
    """The one path, in memory: open the requests, sign them with the keystore, import them.

    ``revocation`` defaults to the configured OCSP responder, so callers that predate it (the
    Prefect flow) still check revocation when ``BUZON_SAT_OCSP_URL`` is set.
    """
    if revocation is None:
        revocation = ocsp_from_settings(settings, trusted)
    pedidas, plan = open_solicitudes(engine, settings, rfcs, tyc=tyc, now=now)
    entregas, failed = _sign_all(keystore, pedidas, now, trusted)
    res = importar(
        engine,
        settings,
        entregas,
        now=now,
        sello=sello,
        trusted=trusted,
        revocation=revocation,
        chunk_size=max(len(entregas), 1),
        tyc=tyc,
    )
    res.failed.update(failed)
    res.not_ready.update(plan.not_ready)
    res.already_active += plan.already_active
    return res


def activar(
    engine: Engine,
    settings: Settings,
    keystore: Keystore,
    rfcs: Iterable[str] | None = None,
    *,
    chunk_size: int = 500,
) -> Resultado:
    """Activate every ready RFC (or those of ``rfcs``), chunk by chunk."""
    now = settings.clock()
    tyc = cargar_tyc(settings)
    trusted = load_trusted(settings.sat_ca_dir)
    revocation = ocsp_from_settings(settings, trusted)
    sello = Sello.load(settings)
    wanted = None if rfcs is None else sorted({compact(r) for r in rfcs})
    with engine.connect() as conn:
        plan = candidatos(conn, wanted)
        conn.rollback()
    res = Resultado(not_ready=plan.not_ready, already_active=plan.already_active)
    listos = plan.activated
    for start in range(0, len(listos), chunk_size):
        res.merge(
            activar_chunk(
                engine,
                settings,
                keystore,
                listos[start : start + chunk_size],
                tyc=tyc,
                sello=sello,
                trusted=trusted,
                now=now,
                revocation=revocation,
            )
        )
    return res
