"""``buzon efirma check --keystore``: every FIEL of a keystore in one run, with expiry warnings."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from buzon.cli import cli
from registry.folios import TZ
from signers import demo


def test_keystore_check_json_and_table(sat, rsa_keys, tmp_path: Path) -> None:  # noqa: ANN001
    store = tmp_path / "efirmas"
    ok_rfcs = ["AAA010101AAA", "BBB010101BBB"]
    demo.write_keystore(store, ok_rfcs, sat.now, key=rsa_keys["titular"])
    ca = demo.make_ca(sat.now, key=rsa_keys["ca"])
    # One expiring in 10 days, one already expired, one CSD, one whose password is missing.
    pronto = "CCC010101CCC"
    cert = demo.make_certificate(
        ca,
        pronto,
        key=rsa_keys["titular"],
        not_before=sat.now - timedelta(days=700),
        not_after=sat.now + timedelta(days=10),
    )
    (store / f"{pronto}.cer").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    (store / f"{pronto}.key").write_bytes(demo.encrypt_key_sat(rsa_keys["titular"], "clave-c"))
    for name, rfc in (("vencida", "DDD010101DDD"), ("csd", "EEE010101EEE")):
        shutil.copy(sat[name].cer, store / f"{rfc}.cer")
        shutil.copy(sat[name].key, store / f"{rfc}.key")
    shutil.copy(sat["fisica"].cer, store / "FFF010101FFF.cer")
    shutil.copy(sat["fisica"].key, store / "FFF010101FFF.key")
    env = {
        "BUZON_NOW": sat.now.isoformat(),
        "BUZON_EFIRMA_PASSWORD_CCC010101CCC": "clave-c",
        "BUZON_EFIRMA_PASSWORD_DDD010101DDD": sat["vencida"].password,
        "BUZON_EFIRMA_PASSWORD_EEE010101EEE": sat["csd"].password,
    }
    runner = CliRunner()
    r = runner.invoke(cli, ["efirma", "check", "--keystore", str(store), "--json"], env=env)
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["ok"] == ok_rfcs + [pronto]
    assert out["failed"] == {
        "DDD010101DDD": "EFIRMA_VENCIDA",
        "EEE010101EEE": "EFIRMA_ES_CSD",
        "FFF010101FFF": "EFIRMA_CONTRASENA",
    }
    vence = (sat.now + timedelta(days=10)).astimezone(TZ).date().isoformat()
    assert out["expiring"] == {pronto: vence}
    # --dias 5: nothing expires that soon. No password ever printed.
    r = runner.invoke(
        cli, ["efirma", "check", "--keystore", str(store), "--dias", "5", "--json"], env=env
    )
    assert json.loads(r.stdout)["expiring"] == {}
    assert "clave-c" not in r.output
    # The table, Spanish, one line per RFC.
    r = runner.invoke(cli, ["efirma", "check", "--keystore", str(store)], env=env)
    assert r.exit_code == 1
    assert "puede firmar" in r.stdout and "vence en menos de 30 días" in r.stdout
    assert "EFIRMA_VENCIDA" in r.stdout and "Traceback" not in r.output
    # A keystore that is not a folder: one Spanish line, exit non-zero.
    r = runner.invoke(cli, ["efirma", "check", "--keystore", str(tmp_path / "no")], env=env)
    assert r.exit_code != 0 and "no es una carpeta" in r.stderr
