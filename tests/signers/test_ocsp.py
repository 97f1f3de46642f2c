"""OCSP revocation against a real responder on loopback (built with ``cryptography``)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography import x509

from buzon.cli import cli
from buzon.errors import ConfigError, EfirmaRevocacionNoVerificada, EfirmaRevocada
from buzon.settings import Settings
from signers import demo
from signers.demo import Autoridad
from signers.efirma import Certificado, check
from signers.ocsp import Ocsp, from_settings


@pytest.fixture
def ca(sat, rsa_keys) -> Autoridad:  # noqa: ANN001
    cert = x509.load_der_x509_certificate((sat.ca_dir / "ac-prueba.cer").read_bytes())
    return Autoridad(cert=cert, key=rsa_keys["ca"])


def test_good_revoked_and_unknown(sat, ca, ocsp_responder) -> None:  # noqa: ANN001
    responder = ocsp_responder(ca, sat.now)
    bueno, revocado = Certificado.load(sat["fisica"].cer), Certificado.load(sat["moral"].cer)
    responder.know(bueno.cert)
    responder.revoke(revocado.cert)
    service = Ocsp(url=responder.url, trusted=[ca.cert], timeout=5)
    service.check(bueno, now=sat.now)
    with pytest.raises(EfirmaRevocada, match="revocada el") as exc:
        service.check(revocado, now=sat.now)
    assert exc.value.code == "EFIRMA_REVOCADA"
    # Through the e.firma checks, revocation runs last (a CSD is refused as a CSD first).
    with pytest.raises(EfirmaRevocada):
        check(revocado, now=sat.now, rfc=sat.MORAL, trusted=[ca.cert], revocation=service)
    # Unknown to the responder (it answers "unauthorized"): the question stays open.
    with pytest.raises(EfirmaRevocacionNoVerificada, match="UNAUTHORIZED"):
        service.check(Certificado.load(sat["vencida"].cer), now=sat.now)
    # A stale answer is no answer.
    later = sat.now.replace(year=sat.now.year + 1)
    with pytest.raises(EfirmaRevocacionNoVerificada, match="no está vigente"):
        service.check(bueno, now=later)
    assert responder.requests == 5


def test_unreachable_and_forged_answers_are_not_a_pass(
    sat, ca, rsa_keys, ocsp_responder, closed_port_url: str
) -> None:  # noqa: ANN001
    bueno = Certificado.load(sat["fisica"].cer)
    with pytest.raises(EfirmaRevocacionNoVerificada, match="no respondió") as exc:
        Ocsp(url=closed_port_url, trusted=[ca.cert], timeout=2).check(bueno, now=sat.now)
    assert exc.value.code == "EFIRMA_REVOCACION_NO_VERIFICADA"
    # A responder signing with a key that is not the issuer's: "good" means nothing.
    forjada = demo.make_ca(sat.now, nombre="AC DE PRUEBA DEL SAT", key=rsa_keys["forjada"])
    forger = ocsp_responder(forjada, sat.now)
    forger.know(bueno.cert)
    with pytest.raises(EfirmaRevocacionNoVerificada, match="no está firmada por el emisor"):
        Ocsp(url=forger.url, trusted=[ca.cert], timeout=5).check(bueno, now=sat.now)


def test_settings_and_cli(sat, ca, ocsp_responder, tmp_path) -> None:  # noqa: ANN001
    assert from_settings(Settings(home=tmp_path), None) is None
    with pytest.raises(ConfigError, match="requiere BUZON_SAT_CA_DIR"):
        from_settings(Settings(home=tmp_path, sat_ocsp_url="http://127.0.0.1:1/"), None)
    responder = ocsp_responder(ca, sat.now)
    par = sat["fisica"]
    responder.revoke(Certificado.load(par.cer).cert)
    env = {
        "BUZON_NOW": sat.now.isoformat(),
        "BUZON_SAT_CA_DIR": str(sat.ca_dir),
        "BUZON_SAT_OCSP_URL": responder.url,
    }
    args = ["efirma", "check", "--cer", str(par.cer), "--key", str(par.key), "--json"]
    r = CliRunner().invoke(cli, [*args, "--password-file", str(par.password_file)], env=env)
    assert r.exit_code == 1
    assert json.loads(r.stdout)["error"] == "EFIRMA_REVOCADA"
    assert "EFIRMA_REVOCADA" in r.stderr and "Traceback" not in r.output
