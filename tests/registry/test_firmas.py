"""Signing requests end to end: ``activate --solicitudes`` -> holder signs -> ``activate --firmas``.

Holders sign with ``buzon efirma firmar`` or with openssl alone; the store is real (SQLite, and
PostgreSQL when configured); FIELs are SAT-shaped files made by ``cryptography``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from registry_helpers import LISTO, SEED_NOW, cli_env, seed
from sqlalchemy import Engine, func, select, update

from buzon.cli import cli
from buzon.settings import Settings
from registry.tables import acuses, particulares, representantes, solicitudes, terminos_textos
from signers.efirma import Certificado
from signers.solicitud import verify_firmas
from signers.tyc import cargar

MORAL, FISICA = "EKU9003173C9", "XIQB891116QE4"
REP = ("VADA800927DJ3", "VADA800927HSRSRL05")


@pytest.fixture
def fsettings(rsettings: Settings) -> Settings:
    return rsettings.model_copy(update={"now": SEED_NOW})


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def firmar(env: dict[str, str], folder: Path, fiel, *extra: str) -> Result:  # noqa: ANN001
    return run(
        env,
        "efirma",
        "firmar",
        "--solicitud",
        str(folder),
        "--cer",
        str(fiel.cer),
        "--key",
        str(fiel.key),
        "--password-file",
        str(fiel.password_file),
        *extra,
    )


def requests_for(
    engine: Engine, s: Settings, tmp_path: Path, spec: dict, **extra: str
) -> tuple[dict[str, str], Path]:
    """Seed ``spec`` and write its signing requests to ``tmp_path/sol``; the CLI env and folder."""
    with engine.begin() as conn:
        seed(conn, spec)
    env = cli_env(s, **extra)
    out = tmp_path / "sol"
    assert run(env, "activate", "--solicitudes", str(out)).exit_code == 0
    return env, out


def openssl_sign(folder: Path, fiel, work: Path) -> None:  # noqa: ANN001
    """Exactly the LEEME's openssl route: convert the SAT DER key, sign, base64, copy the .cer."""
    pem = work / "llave.pem"
    subprocess.run(
        ["openssl", "pkcs8", "-inform", "DER", "-in", str(fiel.key), "-out", str(pem)]
        + ["-passin", f"file:{fiel.password_file}"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(pem), "-out", str(work / "firma.bin")]
        + [str(folder / "cadena.txt")],
        check=True,
    )
    subprocess.run(
        ["openssl", "base64", "-A", "-in", str(work / "firma.bin")]
        + ["-out", str(folder / "firma.b64")],
        check=True,
    )
    shutil.copy(fiel.cer, folder / "efirma.cer")
    pem.unlink()


def test_requests_signed_by_buzon_and_by_openssl_activate_once(
    engine: Engine, fsettings: Settings, fieles, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        seed(conn, {MORAL: LISTO, FISICA: LISTO, "CCC010101AAA": LISTO[:1]})
    env = cli_env(fsettings)
    out = tmp_path / "solicitudes"
    r = run(env, "activate", "--solicitudes", str(out), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {
        "requests": 2,
        "not_ready": {"CCC010101AAA": ["falta un teléfono celular validado en el alcance del RFC"]},
    }
    tyc = cargar(fsettings)
    cadena = (out / MORAL / "cadena.txt").read_bytes()
    text = cadena.decode("utf-8")
    assert not text.endswith("\n") and text.startswith("||SOLICITUD-TERMINOS|1.0|BI-")
    assert f"|{MORAL}|{tyc.version}|{tyc.sha256}||" in text
    assert (out / MORAL / "terminos.txt").read_text(encoding="utf-8") == tyc.texto
    leeme = (out / MORAL / "LEEME.txt").read_text(encoding="utf-8")
    assert "openssl pkcs8 -inform DER" in leeme and "buzon efirma firmar" in leeme
    # Re-running hands out the same request, byte for byte.
    r = run(env, "activate", "--solicitudes", str(out), "--rfc", MORAL, "--json")
    assert json.loads(r.stdout)["requests"] == 1
    assert (out / MORAL / "cadena.txt").read_bytes() == cadena

    moral = fieles.make("moral-ok", MORAL, representante=REP)
    fisica = fieles.make("fisica-ok", FISICA)
    r = firmar(env, out / MORAL, moral)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (out / MORAL).iterdir()) == [
        "LEEME.txt",
        "cadena.txt",
        "efirma.cer",
        "firma.b64",
        "terminos.txt",
    ]
    openssl_sign(out / FISICA, fisica, tmp_path)

    r = run(env, "activate", "--firmas", str(out), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"activated": 2, "failed": {}, "not_ready": {}}
    with engine.connect() as conn:
        rows = {a.rfc: a for a in conn.execute(select(acuses).where(acuses.c.tipo == "terminos"))}
        sols = {s.rfc: s for s in conn.execute(select(solicitudes))}
        estados = dict(conn.execute(select(particulares.c.rfc, particulares.c.estado)).all())
        textos = conn.execute(select(terminos_textos)).all()
    assert estados[MORAL] == estados[FISICA] == "activado"
    assert [(t.version, t.sha256, t.texto, t.origen) for t in textos] == [
        (tyc.version, tyc.sha256, tyc.texto, tyc.origen)
    ]
    for rfc, fiel in ((MORAL, moral), (FISICA, fisica)):
        row = rows[rfc]
        assert row.cadena_firmada == (out / rfc / "cadena.txt").read_text(encoding="utf-8")
        assert row.numero_certificado == fiel.numero and row.solicitud == sols[rfc].folio
        assert Certificado.from_bytes(row.certificado_pem.encode()).verify(
            row.cadena_firmada, row.firma
        )
        sha = hashlib.sha256(row.cadena_firmada.encode()).hexdigest()
        assert f"|{row.solicitud}|{sha}|{row.firma}|" in row.cadena_original
        assert sols[rfc].estado == "usada" and sols[rfc].acuse_folio == row.folio

    # A re-run activates nothing twice; asking for requests again skips the activated RFCs.
    r = run(env, "activate", "--firmas", str(out), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == {
        "activated": 0,
        "failed": {},
        "not_ready": {},
    }
    r = run(env, "activate", "--solicitudes", str(out), "--rfc", MORAL, "--json")
    assert json.loads(r.stdout) == {
        "requests": 0,
        "not_ready": {MORAL: ["el RFC ya está activado"]},
    }
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(acuses)).scalar_one() == 2

    # The export carries the signed request beside the acuse's cadena.
    export = tmp_path / "export"
    assert run(env, "acuses", "--out", str(export)).exit_code == 0
    items = [json.loads(x) for x in (export / "acuses.jsonl").read_text().splitlines()]
    assert {i["rfc"] for i in items} == {MORAL, FISICA}
    texto = (export / "terminos" / f"{tyc.sha256}.txt").read_bytes()
    assert hashlib.sha256(texto).hexdigest() == tyc.sha256 and texto.decode() == tyc.texto
    assert f"{tyc.version}\t{tyc.sha256}" in (export / "terminos" / "versiones.tsv").read_text()
    for item in items:
        assert item["cadena_firmada"] != item["cadena_original"]
        pem = export / "certificados" / f"{item['numero_certificado']}.pem"
        assert Certificado.load(pem).verify(item["cadena_firmada"], item["firma"])


def _firmas_json(env: dict[str, str], out: Path) -> dict:
    r = run(env, "activate", "--firmas", str(out), "--json")
    assert "Traceback" not in r.output
    return json.loads(r.stdout)


def test_refusals_leave_the_request_open(
    engine: Engine, fsettings: Settings, fieles, tmp_path: Path
) -> None:
    otro, csd, vence, ajeno, rep = (
        "AAA010101AAA",
        "BBB010101BBB",
        "DDD010101DDD",
        "EEE010101EEE",
        "FFF010101FFF",
    )
    todos = [FISICA, otro, csd, vence, ajeno, rep]
    with engine.begin() as conn:
        seed(conn, dict.fromkeys(todos, LISTO))
    env = cli_env(fsettings, BUZON_SAT_CA_DIR=str(fieles.ca_dir))
    out = tmp_path / "sol"
    assert run(env, "activate", "--solicitudes", str(out)).exit_code == 0
    buenos = {r: fieles.make(f"ok-{r}", r) for r in todos}

    # `efirma firmar` runs the checks first: another RFC's FIEL writes nothing.
    r = firmar(env, out / FISICA, buenos[otro])
    assert r.exit_code == 1 and "EFIRMA_RFC_DISTINTO" in r.stderr and "Traceback" not in r.output
    assert not (out / FISICA / "firma.b64").exists() and not (out / FISICA / "efirma.cer").exists()
    # Tampered firma (one byte flipped).
    openssl_sign(out / FISICA, buenos[FISICA], tmp_path)
    raw = bytearray(base64.b64decode((out / FISICA / "firma.b64").read_text()))
    raw[10] ^= 0x01
    (out / FISICA / "firma.b64").write_text(base64.b64encode(bytes(raw)).decode())
    # A firma over another RFC's request, in this RFC's folder, with this RFC's FIEL.
    otra = tmp_path / "otra"
    shutil.copytree(out / FISICA, otra)
    (otra / "cadena.txt").write_bytes((out / csd / "cadena.txt").read_bytes())
    openssl_sign(otra, buenos[otro], tmp_path)
    shutil.copy(otra / "firma.b64", out / otro / "firma.b64")
    shutil.copy(otra / "efirma.cer", out / otro / "efirma.cer")
    # A CSD, an expired FIEL, one from an untrusted issuer, someone else's FIEL.
    for rfc, fiel in (
        (csd, fieles.make("csd", csd, csd=True)),
        (vence, fieles.make("vencida", vence, not_after=SEED_NOW.replace(year=2025, month=2))),
        (ajeno, fieles.make("ajena", ajeno, ajena=True)),
        (rep, fieles.make("rep-solo", REP[0], curp=REP[1])),
    ):
        openssl_sign(out / rfc, fiel, tmp_path)

    assert _firmas_json(env, out) == {
        "activated": 0,
        "failed": {
            FISICA: "EFIRMA_FIRMA_INVALIDA",
            otro: "EFIRMA_FIRMA_INVALIDA",
            csd: "EFIRMA_ES_CSD",
            vence: "EFIRMA_VENCIDA",
            ajeno: "EFIRMA_EMISOR_NO_CONFIABLE",
            rep: "EFIRMA_RFC_DISTINTO",
        },
        "not_ready": {},
    }
    # The CLI line is Spanish and non-zero.
    r = run(env, "activate", "--firmas", str(out))
    assert r.exit_code == 1 and "falló     " + FISICA in r.stdout

    # Refused = still open: corrected signatures import later, one failure never stops others.
    for rfc in (FISICA, otro, csd):
        openssl_sign(out / rfc, buenos[rfc], tmp_path)
    got = _firmas_json(env, out)
    assert got["activated"] == 3 and set(got["failed"]) == {vence, ajeno, rep}

    # A used request copied into another RFC's folder is no open request of that RFC.
    shutil.copy(out / FISICA / "cadena.txt", out / vence / "cadena.txt")
    openssl_sign(out / vence, buenos[vence], tmp_path)
    assert _firmas_json(env, out)["failed"][vence] == "SOLICITUD_DESCONOCIDA"

    # --renovar replaces the open request: a firma over the old one is refused.
    viejo = tmp_path / "viejo"
    shutil.copytree(out / ajeno, viejo / ajeno)
    openssl_sign(viejo / ajeno, buenos[ajeno], tmp_path)
    r = run(env, "activate", "--solicitudes", str(out), "--rfc", ajeno, "--renovar", "--json")
    assert json.loads(r.stdout)["requests"] == 1
    assert not (out / ajeno / "firma.b64").exists()  # the stale firma went with the old request
    assert (out / ajeno / "cadena.txt").read_bytes() != (viejo / ajeno / "cadena.txt").read_bytes()
    assert _firmas_json(env, viejo) == {
        "activated": 0,
        "failed": {ajeno: "SOLICITUD_DESCONOCIDA"},
        "not_ready": {},
    }
    openssl_sign(out / ajeno, buenos[ajeno], tmp_path)
    assert _firmas_json(env, out)["activated"] == 1
    with engine.connect() as conn:
        estados = dict(
            conn.execute(
                select(solicitudes.c.estado, func.count()).group_by(solicitudes.c.estado)
            ).all()
        )
    assert estados == {"usada": 4, "abierta": 2, "reemplazada": 1}


def test_joint_signature_then_the_representative_alone(
    engine: Engine, fsettings: Settings, fieles, tmp_path: Path
) -> None:
    env, out = requests_for(engine, fsettings, tmp_path, {MORAL: LISTO})
    moral = fieles.make("moral-conj", MORAL, representante=REP)
    rep = fieles.make("rep-conj", REP[0], curp=REP[1])
    assert firmar(env, out / MORAL, moral).exit_code == 0
    r = firmar(env, out / MORAL, rep, "--representante")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (out / MORAL / "representante").iterdir()) == [
        "efirma.cer",
        "firma.b64",
    ]
    assert _firmas_json(env, out) == {"activated": 1, "failed": {}, "not_ready": {}}
    with engine.connect() as conn:
        row = conn.execute(select(acuses)).one()
        designado = conn.execute(select(representantes)).one()
    assert (row.numero_certificado, row.rfc_representante) == (moral.numero, REP[0])
    assert row.numero_certificado_representante == rep.numero
    cert_rep = Certificado.from_bytes(row.certificado_pem_representante.encode())
    assert cert_rep.verify(row.cadena_firmada, row.firma_representante)
    assert row.cadena_original.endswith(
        f"|{row.firma}|{REP[0]}|{rep.numero}|{row.firma_representante}||"
    )
    assert (designado.rfc, designado.rfc_representante) == (MORAL, REP[0])

    export = tmp_path / "export"
    assert run(env, "acuses", "--out", str(export)).exit_code == 0
    (item,) = [json.loads(x) for x in (export / "acuses.jsonl").read_text().splitlines()]
    assert item["firma"] == row.firma and item["numero_certificado"] == moral.numero
    assert item["rfc_representante"] == REP[0]
    assert item["firma_representante"] == row.firma_representante
    assert (export / "certificados" / f"{rep.numero}.pem").is_file()

    def pem(numero: str) -> str | None:
        path = export / "certificados" / f"{numero}.pem"
        return path.read_text() if path.is_file() else None

    # What `buzon verify` runs on an export: every firma over the signed request.
    assert verify_firmas(item, pem) == []
    raw = bytearray(base64.b64decode(item["firma_representante"]))
    raw[-1] ^= 0x01
    otra = dict(item, firma_representante=base64.b64encode(bytes(raw)).decode())
    assert verify_firmas(otra, pem) == [
        f"la firma del representante ({rep.numero}) no corresponde a la cadena firmada"
    ]
    assert verify_firmas(dict(item, cadena_firmada=item["cadena_original"]), pem) != []

    # Later requests for the RFC may be signed by the designated representative alone. (The
    # activation is undone by hand here: the product has no command that does it.)
    with engine.begin() as conn:
        conn.execute(update(particulares).values(estado="pendiente", tyc_folio=None))
    nueva = tmp_path / "nueva"
    assert run(env, "activate", "--solicitudes", str(nueva)).exit_code == 0
    assert firmar(env, nueva / MORAL, rep, "--representante").exit_code == 0
    assert _firmas_json(env, nueva) == {"activated": 1, "failed": {}, "not_ready": {}}
    with engine.connect() as conn:
        solo = conn.execute(select(acuses).where(acuses.c.folio != row.folio)).one()
    assert solo.firma is None and solo.numero_certificado is None
    assert solo.rfc_representante == REP[0]
    assert Certificado.from_bytes(solo.certificado_pem_representante.encode()).verify(
        solo.cadena_firmada, solo.firma_representante
    )


def test_revocation_by_ocsp_good_revoked_unreachable(
    engine: Engine, fsettings: Settings, fieles, tmp_path: Path, ocsp_responder, closed_port_url
) -> None:  # noqa: ANN001
    bueno, revocado, callado = "AAA010101AAA", "BBB010101BBB", "CCC010101CCC"
    with engine.begin() as conn:
        seed(conn, dict.fromkeys([bueno, revocado, callado], LISTO))
    responder = ocsp_responder(fieles.ca, SEED_NOW)
    base = cli_env(fsettings, BUZON_SAT_CA_DIR=str(fieles.ca_dir))
    out = tmp_path / "sol"
    assert run(base, "activate", "--solicitudes", str(out)).exit_code == 0
    for rfc in (bueno, revocado, callado):
        fiel = fieles.make(f"ocsp-{rfc}", rfc)
        openssl_sign(out / rfc, fiel, tmp_path)
        cert = Certificado.load(fiel.cer).cert
        if rfc == bueno:
            responder.know(cert)
        elif rfc == revocado:
            responder.revoke(cert)
    # The responder is down for the first import: nothing passes, nothing crashes.
    down = base | {"BUZON_SAT_OCSP_URL": closed_port_url, "BUZON_SAT_OCSP_TIMEOUT": "2"}
    assert _firmas_json(down, out) == {
        "activated": 0,
        "failed": dict.fromkeys([bueno, revocado, callado], "EFIRMA_REVOCACION_NO_VERIFICADA"),
        "not_ready": {},
    }
    up = base | {"BUZON_SAT_OCSP_URL": responder.url}
    assert _firmas_json(up, out) == {
        "activated": 1,
        "failed": {revocado: "EFIRMA_REVOCADA", callado: "EFIRMA_REVOCACION_NO_VERIFICADA"},
        "not_ready": {},
    }
    assert responder.requests == 3


def test_keystore_is_the_same_path_with_a_representative(
    engine: Engine, fsettings: Settings, fieles, tmp_path: Path
) -> None:
    from registry.activate import Keystore, activar

    with engine.begin() as conn:
        seed(conn, {MORAL: LISTO, FISICA: LISTO})
    store = tmp_path / "efirmas"
    store.mkdir()
    moral = fieles.make("ks-moral", MORAL, representante=REP)
    rep = fieles.make("ks-rep", REP[0], curp=REP[1])
    fisica = fieles.make("ks-fisica", FISICA)
    for stem, fiel in ((MORAL, moral), (f"{MORAL}.representante", rep), (FISICA, fisica)):
        shutil.copy(fiel.cer, store / f"{stem}.cer")
        shutil.copy(fiel.key, store / f"{stem}.key")
    passwords = {
        MORAL: moral.password,
        f"{MORAL}.REPRESENTANTE": rep.password,
        FISICA: fisica.password,
    }
    res = activar(engine, fsettings, Keystore(store, passwords))
    assert res.summary() == {"activated": 2, "not_ready": {}, "failed": {}, "already_active": 0}
    with engine.connect() as conn:
        rows = {a.rfc: a for a in conn.execute(select(acuses))}
        sols = conn.execute(select(solicitudes.c.rfc, solicitudes.c.estado)).all()
        designados = conn.execute(select(representantes.c.rfc_representante)).scalars().all()
    assert sorted(sols) == [(MORAL, "usada"), (FISICA, "usada")]
    assert designados == [REP[0]]
    a = rows[MORAL]
    assert a.cadena_firmada.startswith("||SOLICITUD-TERMINOS|1.0|" + a.solicitud + "|")
    assert (a.numero_certificado, a.numero_certificado_representante) == (moral.numero, rep.numero)
    assert rows[FISICA].rfc_representante is None and rows[FISICA].firma


def test_a_new_tyc_version_replaces_the_open_request(
    engine: Engine, fsettings: Settings, fieles, tmp_path: Path
) -> None:
    env, out = requests_for(engine, fsettings, tmp_path, {FISICA: LISTO})
    vieja = (out / FISICA / "cadena.txt").read_bytes()
    openssl_sign(out / FISICA, fieles.make("tyc-fisica", FISICA), tmp_path)
    firmado = tmp_path / "firmado"
    shutil.copytree(out, firmado)
    oficial = tmp_path / "oficial.txt"
    oficial.write_text("Texto oficial de los términos.\n", encoding="utf-8")
    nuevo = env | {"BUZON_TYC_FILE": str(oficial), "BUZON_TYC_VERSION": "2024-08"}
    r = run(nuevo, "activate", "--solicitudes", str(out), "--json")
    assert json.loads(r.stdout)["requests"] == 1
    assert (out / FISICA / "cadena.txt").read_bytes() != vieja
    assert (out / FISICA / "terminos.txt").read_text(encoding="utf-8") == oficial.read_text()
    assert "|2024-08|" in (out / FISICA / "cadena.txt").read_text()
    # The firma over the request for the old text is refused; the same version with another text
    # is a configuration error, not a silent second meaning.
    assert _firmas_json(nuevo, firmado)["failed"] == {FISICA: "SOLICITUD_DESCONOCIDA"}
    oficial.write_text("Otro texto con la misma versión.\n", encoding="utf-8")
    r = run(nuevo, "activate", "--solicitudes", str(out))
    assert r.exit_code != 0 and "ya se usó con otro texto" in r.stderr
