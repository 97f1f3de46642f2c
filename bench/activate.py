"""Benchmark ``buzon activate``: 2,000 ready RFCs, each with its own SAT-style FIEL files.

Floor, measured in the same run: loading the 2,000 ``.key`` files with their passwords (PBES2:
PBKDF2-HMAC-SHA1 at 2,048 iterations + 3DES, as SAT ships them) plus 4,000 RSA-2048 signatures
(one FIEL firma and one institution sello per acuse), one thread. Target: activation <= 2x floor.
Also printed: what PBKDF2 alone costs, and what OpenSSL's full RSA key check would add.

    .venv/bin/python bench/activate.py [--rfcs 2000] [--keys 16] [--postgres URL]

``--keys`` distinct RSA keys are generated and reused across certificates (generation is ~0.1 s a
key and is not what is measured); every ``.key`` file is still encrypted with its own password
and salt, so every load pays the full decryption.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from sqlalchemy import create_engine, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from buzon.settings import Settings  # noqa: E402
from registry.activate import Keystore, activar  # noqa: E402
from registry.db import dispose_all, get_engine  # noqa: E402
from registry.tables import alcances, medios, particulares  # noqa: E402
from signers import demo  # noqa: E402
from signers.efirma import load_key  # noqa: E402
from signers.seal import Sello  # noqa: E402

NOW = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)


def rfc_for(i: int) -> str:
    a, b, c = (i // 676) % 26, (i // 26) % 26, i % 26
    return f"{chr(65 + a)}{chr(65 + b)}{chr(65 + c)}010101{i % 1000:03d}"


def seed(settings: Settings, rfcs: list[str]) -> None:
    """Ready RFCs straight into the store: one validated email and mobile at the RFC scope."""
    then = NOW - timedelta(days=1)
    parts, rows_m, rows_a = [], [], []
    for i, rfc in enumerate(rfcs):
        parts.append({"rfc": rfc, "nombre": f"Empresa {i}, S.A. de C.V.", "creado_en": then})
        for j, (mec, valor) in enumerate(
            (("correo", f"rh{i}@e{i}.mx"), ("telefono", f"55{i:08d}"))
        ):
            mid = 2 * i + j + 1
            rows_m.append(
                {"id": mid, "rfc": rfc, "mecanismo": mec, "valor": valor, "estado": "validado"}
                | {"folio": f"BI-SEED-{mid:09d}", "creado_en": then, "actualizado_en": then}
                | {"validado_en": then}
            )
            rows_a.append({"medio_id": mid, "rfc": rfc, "rp": None, "creado_en": then})
    with get_engine(settings).begin() as conn:
        conn.execute(insert(particulares), parts)
        conn.execute(insert(medios), rows_m)
        conn.execute(insert(alcances), rows_a)


def make_keystore(folder: Path, rfcs: list[str], n_keys: int) -> None:
    keys = [demo.new_key() for _ in range(n_keys)]
    ca = demo.make_ca(NOW)
    # One key per chunk of RFCs; write_keystore writes passwords.csv (0600) for the whole set.
    step = -(-len(rfcs) // n_keys)
    passwords: list[list[str]] = []
    for k, start in enumerate(range(0, len(rfcs), step)):
        demo.write_keystore(folder, rfcs[start : start + step], NOW, ca=ca, key=keys[k])
        with (folder / "passwords.csv").open(newline="") as fh:
            passwords += list(csv.reader(fh))[1:]
    with (folder / "passwords.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([["rfc", "password"], *passwords])


def floor(folder: Path, rfcs: list[str], sello: Sello) -> dict[str, float]:
    store = Keystore.open(folder, {})
    text = "||SOLICITUD-TERMINOS|1.0|BI-20250301-120000000|2025-03-01T06:00:00-06:00|" * 2
    data = text.encode()
    t0 = time.perf_counter()
    llaves = [load_key((folder / f"{r}.key").read_bytes(), store.password(r)) for r in rfcs]
    t1 = time.perf_counter()
    for llave in llaves:
        llave.sign(data, padding.PKCS1v15(), hashes.SHA256())
        sello.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    t2 = time.perf_counter()
    salt = b"12345678"
    for r in rfcs:
        PBKDF2HMAC(hashes.SHA1(), 24, salt, demo.SAT_ITERATIONS).derive(store.password(r).encode())
    t3 = time.perf_counter()
    sample = rfcs[:50]
    for r in sample:
        load_key((folder / f"{r}.key").read_bytes(), store.password(r), validate=True)
    t4 = time.perf_counter()
    return {
        "load": t1 - t0,
        "sign": t2 - t1,
        "floor": t2 - t0,
        "pbkdf2": t3 - t2,
        "validate_per_key": (t4 - t3) / len(sample) - (t1 - t0) / len(rfcs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rfcs", type=int, default=2000)
    ap.add_argument("--keys", type=int, default=16)
    ap.add_argument("--postgres", help="PostgreSQL URL (a fresh schema is used); default SQLite")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        settings = Settings(home=home, now=NOW)
        admin, schema = None, None
        if args.postgres:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(args.postgres)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            sep = "&" if "?" in args.postgres else "?"
            url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
            settings = Settings(home=home, now=NOW, database_url=url)
        try:
            rfcs = [rfc_for(i) for i in range(args.rfcs)]
            t = time.perf_counter()
            seed(settings, rfcs)
            folder = Path(tmp) / "efirmas"
            make_keystore(folder, rfcs, args.keys)
            sello = Sello.load(settings)
            print(
                f"setup: {args.rfcs:,} ready RFCs and FIEL files in {time.perf_counter() - t:.1f} s"
            )

            f = floor(folder, rfcs, sello)
            t = time.perf_counter()
            res = activar(get_engine(settings), settings, Keystore.open(folder, {}))
            elapsed = time.perf_counter() - t
            assert len(res.activated) == args.rfcs and not res.failed, res.summary()
            with get_engine(settings).connect() as conn:
                n = len(conn.execute(select(particulares.c.tyc_folio)).all())
            assert n == args.rfcs
            rerun_t = time.perf_counter()
            again = activar(get_engine(settings), settings, Keystore.open(folder, {}))
            rerun = time.perf_counter() - rerun_t
            assert not again.activated

            n = args.rfcs
            print(
                f"floor: load {n:,} keys {f['load']:.2f} s + {2 * n:,} signatures "
                f"{f['sign']:.2f} s = {f['floor']:.2f} s (one thread)"
            )
            print(
                f"  of which PBKDF2 alone (SHA1, {demo.SAT_ITERATIONS} it.): {f['pbkdf2']:.2f} s; "
                f"full RSA key check would add {f['validate_per_key'] * 1000:.0f} ms/key "
                f"= {f['validate_per_key'] * n:.0f} s"
            )
            print(
                f"activate: {elapsed:.2f} s ({n / elapsed:,.0f} RFC/s); "
                f"ratio to floor {elapsed / f['floor']:.2f}x (target <= 2x)"
            )
            print(f"re-run (nothing to do): {rerun:.2f} s")
        finally:
            dispose_all()
            if admin is not None:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                admin.dispose()


if __name__ == "__main__":
    main()
