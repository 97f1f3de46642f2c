"""``registry.activate`` on a real store (SQLite; PostgreSQL when configured) with real FIELs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from registry_helpers import LISTO, cli_env, seed
from sqlalchemy import Engine, func, select

from buzon.errors import ConfigError
from buzon.settings import Settings
from registry import activate as act
from registry.acuses import cadena_original
from registry.tables import acuses, auditoria, particulares
from signers import demo
from signers.efirma import Certificado
from signers.seal import Sello
from signers.tyc import VERSION

NOW = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)
MORAL, FISICA = "EKU9003173C9", "XIQB891116QE4"


@pytest.fixture(scope="module")
def fiel_key():  # noqa: ANN201
    return demo.new_key()


@pytest.fixture
def asettings(rsettings: Settings) -> Settings:
    return rsettings.model_copy(update={"now": NOW})


def keystore(tmp_path: Path, rfcs: list[str], key) -> Path:  # noqa: ANN001
    folder = tmp_path / "efirmas"
    demo.write_keystore(folder, {r: None for r in rfcs}, NOW, key=key)
    return folder


def test_activates_ready_rfcs_with_verifiable_acuses(
    engine: Engine, asettings: Settings, sello: Sello, tmp_path: Path, fiel_key
) -> None:
    with engine.begin() as conn:
        seed(conn, {MORAL: LISTO, FISICA: LISTO + [("correo", "enviado", None)]})
    folder = keystore(tmp_path, [MORAL, FISICA], fiel_key)
    res = act.activar(engine, asettings, act.Keystore.open(folder, {}))
    assert res.summary() == {"activated": 2, "not_ready": {}, "failed": {}, "already_active": 0}

    with engine.connect() as conn:
        rows = conn.execute(select(acuses).where(acuses.c.tipo == "terminos")).all()
        parts = {r.rfc: r for r in conn.execute(select(particulares))}
        audits = conn.execute(select(auditoria).where(auditoria.c.entidad == "particular")).all()
    assert len(rows) == 2 and len(audits) == 2
    tyc_sha = hashlib.sha256(
        (Path(act.__file__).parents[1] / "signers" / "tyc" / f"tyc-{VERSION}.txt").read_bytes()
    ).hexdigest()
    for row in rows:
        cert = Certificado.from_bytes(row.certificado_pem.encode())
        assert cert.rfc == row.rfc and cert.numero_certificado == row.numero_certificado
        firmada_sha = hashlib.sha256(row.cadena_firmada.encode()).hexdigest()
        assert f"|{VERSION}|{tyc_sha}|{row.numero_certificado}|{row.solicitud}|{firmada_sha}|" in (
            row.cadena_original
        )
        assert row.cadena_original.startswith("||4.0|") and "|terminos|" in row.cadena_original
        assert row.cadena_original.endswith(f"|{row.firma}|||||")
        assert row.cadena_original == cadena_original(
            {
                "folio": row.folio,
                "fecha": row.fecha,
                "tipo": "terminos",
                "rfc": row.rfc,
                "nombre": row.nombre,
                "estado": row.estado,
                "tyc_version": VERSION,
                "tyc_sha256": tyc_sha,
                "numero_certificado": row.numero_certificado,
                "solicitud": row.solicitud,
                "cadena_firmada": row.cadena_firmada,
                "firma": row.firma,
            }
        )
        # The holder's firma covers the request they were given; the sello covers the acuse.
        assert row.cadena_firmada.startswith("||SOLICITUD-TERMINOS|1.0|" + row.solicitud + "|")
        assert f"|{row.rfc}|{VERSION}|{tyc_sha}||" in row.cadena_firmada
        assert cert.verify(row.cadena_firmada, row.firma)
        assert sello.verify(row.cadena_original, row.sello)
        p = parts[row.rfc]
        assert p.estado == "activado" and p.tyc_folio == row.folio
        assert p.activado_en is not None
    assert {a.entidad_id for a in audits} == {MORAL, FISICA}
    assert all(a.de_estado == "pendiente" and a.a_estado == "activado" for a in audits)
    numeros = {r.numero_certificado for r in rows}
    assert {a.detalle.split("certificado=")[1].split()[0] for a in audits} == numeros

    # Both signatures verify with openssl alone.
    row = rows[0]
    (tmp_path / "firmada.txt").write_bytes(row.cadena_firmada.encode("utf-8"))
    (tmp_path / "cadena.txt").write_bytes(row.cadena_original.encode("utf-8"))
    (tmp_path / "cert.pem").write_text(row.certificado_pem)
    (tmp_path / "sello.pem").write_text(sello.certificate_pem)
    for name, sig, pem, over in (
        ("firma", row.firma, "cert.pem", "firmada.txt"),
        ("sello", row.sello, "sello.pem", "cadena.txt"),
    ):
        (tmp_path / f"{name}.b64").write_text(sig)
        subprocess.run(
            ["openssl", "base64", "-d", "-A", "-in", f"{name}.b64", "-out", f"{name}.bin"],
            cwd=tmp_path,
            check=True,
        )
        pub = subprocess.run(
            ["openssl", "x509", "-in", pem, "-pubkey", "-noout"],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        ).stdout
        (tmp_path / f"{name}.pub").write_bytes(pub)
        out = subprocess.run(
            ["openssl", "dgst", "-sha256", "-verify", f"{name}.pub"]
            + ["-signature", f"{name}.bin", over],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert "Verified OK" in out.stdout, (name, out.stderr)

    # Re-running activates nothing twice and mints no folio.
    again = act.activar(engine, asettings, act.Keystore.open(folder, {}))
    assert again.summary()["activated"] == 0 and again.summary()["already_active"] == 0
    again = act.activar(engine, asettings, act.Keystore.open(folder, {}), [MORAL, FISICA])
    assert again.summary()["already_active"] == 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(acuses)).scalar_one() == 2


def test_not_ready_lists_what_is_missing(
    engine: Engine, asettings: Settings, tmp_path: Path, fiel_key
) -> None:
    solo_correo, rp_only, enviado = "AAA010101AAA", "BBB010101BBB", "CCC010101CCC"
    with engine.begin() as conn:
        seed(
            conn,
            {
                solo_correo: [("correo", "validado", None)],
                # validated at an RP scope only: does not count for the RFC.
                rp_only: [("correo", "validado", None), ("telefono", "validado", "Y3926552104")],
                enviado: [("correo", "enviado", None), ("telefono", "vencido", None)],
            },
        )
    folder = keystore(tmp_path, [solo_correo], fiel_key)
    res = act.activar(
        engine, asettings, act.Keystore.open(folder, {}), [solo_correo, rp_only, enviado, "ZZZ"]
    )
    assert res.summary()["activated"] == 0
    assert res.not_ready == {
        solo_correo: [act.FALTA_TELEFONO],
        rp_only: [act.FALTA_TELEFONO],
        enviado: [act.FALTA_CORREO, act.FALTA_TELEFONO],
        "ZZZ": [act.NO_REGISTRADO],
    }


def test_one_bad_fiel_never_stops_the_others(
    engine: Engine, asettings: Settings, tmp_path: Path, fiel_key
) -> None:
    good, wrong_pw, no_pw, no_files, other_rfc = (
        "AAA010101AAA",
        "BBB010101BBB",
        "CCC010101CCC",
        "DDD010101DDD",
        "EEE010101EEE",
    )
    rfcs = [good, wrong_pw, no_pw, no_files, other_rfc]
    with engine.begin() as conn:
        seed(conn, {r: LISTO for r in rfcs})
    folder = keystore(tmp_path, [good, wrong_pw, no_pw], fiel_key)
    for ext in ("cer", "key"):  # EEE's files are AAA's certificate: the RFC does not match
        shutil.copy(folder / f"{good}.{ext}", folder / f"{other_rfc}.{ext}")
    store = act.Keystore.open(folder, {})
    passwords = dict(store.passwords)
    passwords[wrong_pw] = "equivocada"
    passwords[other_rfc] = passwords[good]
    del passwords[no_pw]
    store = act.Keystore(folder, passwords)
    res = act.activar(engine, asettings, store, chunk_size=2)
    assert res.activated == [good]
    assert res.summary()["failed"] == {
        wrong_pw: "EFIRMA_CONTRASENA",
        no_pw: "EFIRMA_CONTRASENA",
        no_files: "EFIRMA_ARCHIVO_INVALIDO",
        other_rfc: "EFIRMA_RFC_DISTINTO",
    }
    assert "BUZON_EFIRMA_PASSWORD_CCC010101CCC" in res.failed[no_pw].message
    assert "equivocada" not in repr(store) and "equivocada" not in str(res.summary())
    with engine.connect() as conn:
        estados = dict(conn.execute(select(particulares.c.rfc, particulares.c.estado)).all())
    assert estados == {r: ("activado" if r == good else "pendiente") for r in rfcs}


def test_chunks_and_rfc_filter(
    engine: Engine, asettings: Settings, tmp_path: Path, fiel_key
) -> None:
    rfcs = [f"A{c}A010101AAA" for c in "BCDEFG"]
    with engine.begin() as conn:
        seed(conn, {r: LISTO for r in rfcs})
    folder = keystore(tmp_path, rfcs, fiel_key)
    store = act.Keystore.open(folder, {})
    first = act.activar(engine, asettings, store, [r.lower() for r in rfcs[:2]], chunk_size=1)
    assert first.activated == rfcs[:2]
    rest = act.activar(engine, asettings, store, chunk_size=3)
    assert rest.activated == rfcs[2:]
    with engine.connect() as conn:
        folios = conn.execute(select(particulares.c.tyc_folio)).scalars().all()
    assert len(set(folios)) == 6 and all(f.startswith("BI-2025") for f in folios)


def test_keystore_passwords(tmp_path: Path, fiel_key) -> None:
    folder = keystore(tmp_path, [MORAL], fiel_key)
    pw = folder / "passwords.csv"
    os.chmod(pw, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        act.Keystore.open(folder, {})
    os.chmod(pw, 0o600)
    env = {"BUZON_EFIRMA_PASSWORD_" + MORAL: "desde-entorno", "OTRA": "x"}
    store = act.Keystore.open(folder, env)
    assert store.password(MORAL) == "desde-entorno"
    pw.unlink()
    assert act.Keystore.open(folder, {}).password(MORAL) is None
    (folder / "passwords.csv").write_text("x,y\n1,2\n")
    os.chmod(folder / "passwords.csv", 0o600)
    with pytest.raises(ConfigError, match="rfc,password"):
        act.Keystore.open(folder, {})
    with pytest.raises(ConfigError, match="no es una carpeta"):
        act.Keystore.open(tmp_path / "nada", {})


def test_operator_tyc_and_trusted_ca(
    engine: Engine, asettings: Settings, tmp_path: Path, fiel_key
) -> None:
    with engine.begin() as conn:
        seed(conn, {MORAL: LISTO, FISICA: LISTO})
    folder = keystore(tmp_path, [MORAL], fiel_key)
    # FISICA's FIEL comes from another (untrusted) demo CA.
    otra = tmp_path / "otra"
    demo.write_keystore(otra, [FISICA], NOW, key=fiel_key)
    for ext in ("cer", "key"):
        shutil.copy(otra / f"{FISICA}.{ext}", folder / f"{FISICA}.{ext}")
    passwords = dict(act.Keystore.open(folder, {}).passwords)
    passwords.update(act.Keystore.open(otra, {}).passwords)
    oficial = tmp_path / "oficial.txt"
    oficial.write_text("Texto oficial de términos y condiciones.\n", encoding="utf-8")
    s = asettings.model_copy(
        update={"tyc_file": oficial, "tyc_version": "2024-08", "sat_ca_dir": folder / "ac"}
    )
    res = act.activar(engine, s, act.Keystore(folder, passwords))
    assert res.activated == [MORAL]
    assert res.summary()["failed"] == {FISICA: "EFIRMA_EMISOR_NO_CONFIABLE"}
    sha = hashlib.sha256(oficial.read_bytes()).hexdigest()
    with engine.connect() as conn:
        cadena = conn.execute(select(acuses.c.cadena_original)).scalar_one()
        detalle = conn.execute(
            select(auditoria.c.detalle).where(auditoria.c.entidad == "particular")
        ).scalar_one()
    assert f"|2024-08|{sha}|" in cadena
    assert "(operador)" in detalle


def test_cli_activate_and_export(
    engine: Engine, asettings: Settings, tmp_path: Path, fiel_key
) -> None:
    from click.testing import CliRunner

    from buzon.cli import cli

    bad = "BBB010101BBB"
    with engine.begin() as conn:
        seed(conn, {MORAL: LISTO, FISICA: LISTO[:1], bad: LISTO})
    folder = keystore(tmp_path, [MORAL], fiel_key)
    env = cli_env(asettings)
    runner = CliRunner()
    r = runner.invoke(cli, ["activate", "--keystore", str(folder), "--json"], env=env)
    assert r.exit_code == 1, r.output  # one FIEL failed
    out = json.loads(r.stdout)
    assert out == {
        "activated": 1,
        "not_ready": {FISICA: [act.FALTA_TELEFONO]},
        "failed": {bad: "EFIRMA_ARCHIVO_INVALIDO"},
        "already_active": 0,
        "activated_rfcs": [MORAL],
    }
    r = runner.invoke(cli, ["activate", "--keystore", str(folder), "--rfc", MORAL], env=env)
    assert r.exit_code == 0 and "activados: 0" in r.stdout and "ya activados antes: 1" in r.stdout
    os.chmod(folder / "passwords.csv", 0o640)
    r = runner.invoke(cli, ["activate", "--keystore", str(folder)], env=env)
    assert r.exit_code == 1 and "chmod 600" in r.stderr and "Traceback" not in r.output

    export = tmp_path / "export"
    r = runner.invoke(cli, ["acuses", "--out", str(export), "--rfc", MORAL], env=env)
    assert r.exit_code == 0, r.output
    (item,) = [json.loads(line) for line in (export / "acuses.jsonl").read_text().splitlines()]
    assert item["tipo"] == "terminos" and item["firma"] and item["numero_certificado"]
    pem = export / "certificados" / f"{item['numero_certificado']}.pem"
    assert Certificado.load(pem).rfc == MORAL
    # The exported firma verifies with openssl and nothing else, over the signed request.
    assert item["cadena_firmada"] != item["cadena_original"]
    (tmp_path / "cadena.txt").write_bytes(item["cadena_firmada"].encode("utf-8"))
    (tmp_path / "firma.bin").write_bytes(base64.b64decode(item["firma"]))
    pub = subprocess.run(
        ["openssl", "x509", "-in", str(pem), "-pubkey", "-noout"], check=True, capture_output=True
    ).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    res = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "firma.bin"]
        + ["cadena.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "Verified OK" in res.stdout
