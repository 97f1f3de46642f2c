"""Activation: sign the Terms and Conditions with each ready RFC's e.firma, in bulk.

Ready = the particular is not yet ``activado`` and has at least one ``validado`` email and one
``validado`` mobile at the RFC scope (``alcances.rp IS NULL``). For each ready RFC:

1. load its FIEL from the keystore and check it (outside any transaction: this is the CPU work);
2. in one transaction per chunk: lock the still-pending particulares, allocate folios, build the
   *terminos* cadena original (T&C version, SHA-256 of the exact text, certificate number), sign
   it with the FIEL (``firma``) and the institution seal (``sello``), insert the acuses, mark the
   particulares ``activado`` (``activado_en``, ``tyc_folio``) and write the audit rows.

A crash rolls the chunk back whole; a re-run finds the activated RFCs no longer pending, so nothing
is activated (or sealed, or folio'd) twice. One bad FIEL is reported and never stops the others.

Keystore layout: ``DIR/<RFC>.cer``, ``DIR/<RFC>.key`` and passwords in ``DIR/passwords.csv``
(``rfc,password``; refused when group- or world-readable) or ``BUZON_EFIRMA_PASSWORD_<RFC>``,
read by the entry point and handed in as a mapping.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import Connection, Engine, bindparam, func, select, update

from buzon.errors import ConfigError, EfirmaArchivoInvalido, EfirmaContrasena, EfirmaError
from buzon.files import require_private
from buzon.settings import Settings
from registry import acuses as acuses_mod
from registry import audit
from registry import folios as folios_mod
from registry.activados import YA_ACTIVADOS  # activated before 06/08/2024 too
from registry.sql import batches
from registry.tables import alcances, medios, particulares
from schemas.rfc import compact
from signers.efirma import Efirma, load_and_check, load_trusted
from signers.seal import Sello
from signers.tyc import Tyc
from signers.tyc import cargar as cargar_tyc

PENDIENTE, ACTIVADO = "pendiente", "activado"
ENV_PREFIX = "BUZON_EFIRMA_PASSWORD_"
ORIGEN = "comando:activate"
FALTA_CORREO = "falta un correo electrónico validado en el alcance del RFC"
FALTA_TELEFONO = "falta un teléfono celular validado en el alcance del RFC"
NO_REGISTRADO = "el RFC no está registrado"
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

    def load(self, rfc: str, *, now: datetime, trusted: list[x509.Certificate] | None) -> Efirma:
        cer, key = self.folder / f"{rfc}.cer", self.folder / f"{rfc}.key"
        for path in (cer, key):
            if not path.is_file():
                raise EfirmaArchivoInvalido(
                    f"no está {path.name} en el almacén de e.firmas", archivo=str(path)
                )
        password = self.password(rfc)
        if password is None:
            raise EfirmaContrasena(
                f"falta la contraseña: agréguela a passwords.csv o a {env_name(rfc)}", rfc=rfc
            )
        return load_and_check(
            cer,
            key,
            password,
            now=now,
            rfc=rfc,
            trusted=trusted,
        )


@dataclass
class Resultado:
    activated: list[str] = field(default_factory=list)
    not_ready: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, EfirmaError] = field(default_factory=dict)
    already_active: list[str] = field(default_factory=list)

    def merge(self, other: Resultado) -> None:
        self.activated += other.activated
        self.not_ready.update(other.not_ready)
        self.failed.update(other.failed)
        self.already_active += other.already_active

    def summary(self) -> dict[str, Any]:
        """The ``--json`` object."""
        return {
            "activated": len(self.activated),
            "not_ready": dict(sorted(self.not_ready.items())),
            "failed": {rfc: exc.code for rfc, exc in sorted(self.failed.items())},
            "already_active": len(self.already_active),
        }


def candidatos(conn: Connection, rfcs: Sequence[str] | None = None) -> Resultado:
    """Who is ready. ``activated`` holds the ready RFCs (not yet activated at this point)."""
    res = Resultado()
    q = select(particulares.c.rfc, particulares.c.estado)
    estados: dict[str, str] = {}
    if rfcs is None:
        estados = {
            r.rfc: r.estado
            for r in conn.execute(q.where(particulares.c.estado.not_in(YA_ACTIVADOS)))
        }
    else:
        for part in batches(sorted(set(rfcs))):
            estados.update(
                {r.rfc: r.estado for r in conn.execute(q.where(particulares.c.rfc.in_(part)))}
            )
        for rfc in sorted(set(rfcs) - set(estados)):
            res.not_ready[rfc] = [NO_REGISTRADO]
    res.already_active = sorted(r for r, e in estados.items() if e in YA_ACTIVADOS)
    pendientes = sorted(r for r, e in estados.items() if e not in YA_ACTIVADOS)
    validados: dict[str, set[str]] = {}
    for part in batches(pendientes):
        rows = conn.execute(
            select(medios.c.rfc, medios.c.mecanismo)
            .join(alcances, (alcances.c.medio_id == medios.c.id) & alcances.c.rp.is_(None))
            .where(medios.c.rfc.in_(part), medios.c.estado == "validado")
            .group_by(medios.c.rfc, medios.c.mecanismo)
            .having(func.count() > 0)
        )
        for r in rows:
            validados.setdefault(r.rfc, set()).add(r.mecanismo)
    for rfc in pendientes:
        have = validados.get(rfc, set())
        falta = [
            m for k, m in (("correo", FALTA_CORREO), ("telefono", FALTA_TELEFONO)) if k not in have
        ]
        if falta:
            res.not_ready[rfc] = falta
        else:
            res.activated.append(rfc)
    return res


def _load_all(
    keystore: Keystore, rfcs: Sequence[str], now: datetime, trusted: list[x509.Certificate] | None
) -> tuple[dict[str, Efirma], dict[str, EfirmaError]]:
    def one(rfc: str) -> Efirma | EfirmaError:
        try:
            return keystore.load(rfc, now=now, trusted=trusted)
        except EfirmaError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        loaded = dict(zip(rfcs, pool.map(one, rfcs), strict=True))
    ok = {r: v for r, v in loaded.items() if isinstance(v, Efirma)}
    bad = {r: v for r, v in loaded.items() if isinstance(v, EfirmaError)}
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
) -> Resultado:
    """Activate the ready RFCs among ``rfcs`` (one transaction). FIEL failures are collected."""
    res = Resultado()
    efirmas, res.failed = _load_all(keystore, rfcs, now, trusted)
    if not efirmas:
        return res
    with engine.begin() as conn:
        # Re-read under the lock: another run may have activated some since the candidates query.
        listos = candidatos(conn, sorted(efirmas))
        res.not_ready.update(listos.not_ready)
        res.already_active += listos.already_active
        ids = listos.activated
        nombres: dict[str, str | None] = {}
        for part in batches(ids):
            rows = conn.execute(
                select(particulares.c.rfc, particulares.c.nombre)
                .where(particulares.c.rfc.in_(part), particulares.c.estado.not_in(YA_ACTIVADOS))
                .with_for_update()
            )
            nombres.update({r.rfc: r.nombre for r in rows})
        ids = sorted(nombres)
        if not ids:
            return res
        folios = folios_mod.allocate(conn, len(ids), now)
        pendientes = []
        for rfc, folio in zip(ids, folios, strict=True):
            c = efirmas[rfc].certificado
            pendientes.append(
                {
                    "folio": folio,
                    "fecha": now,
                    "tipo": "terminos",
                    "rfc": rfc,
                    "nombre": nombres[rfc] or c.nombre,
                    "estado": "aceptado",
                    "tyc_version": tyc.version,
                    "tyc_sha256": tyc.sha256,
                    "numero_certificado": c.numero_certificado,
                    "certificado_pem": c.pem,
                }
            )

        def firmar(acuse: dict[str, Any]) -> str:
            return efirmas[acuse["rfc"]].sign(acuses_mod.cadena_original(acuse))

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for acuse, firma in zip(pendientes, pool.map(firmar, pendientes), strict=True):
                acuse["firma"] = firma
        acuses_mod.emitir(conn, settings, pendientes, sello=sello, now=now)
        conn.execute(
            update(particulares)
            .where(
                particulares.c.rfc == bindparam("b_rfc"),
                *(particulares.c.estado != e for e in YA_ACTIVADOS),  # executemany: no IN list
            )
            .values(estado=ACTIVADO, activado_en=now, tyc_folio=bindparam("b_folio")),
            [{"b_rfc": a["rfc"], "b_folio": a["folio"]} for a in pendientes],
        )
        audit.registrar(
            conn,
            (
                audit.fila(
                    "particular",
                    a["rfc"],
                    PENDIENTE,
                    ACTIVADO,
                    origen=ORIGEN,
                    en=now,
                    detalle=(
                        f"términos y condiciones {tyc.version} ({tyc.origen}) sha256={tyc.sha256} "
                        f"certificado={a['numero_certificado']} folio={a['folio']}"
                    ),
                )
                for a in pendientes
            ),
        )
    res.activated = ids
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
            )
        )
    return res
