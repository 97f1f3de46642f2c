"""Templates: Spanish wording, the "aquí" link, escaping, SMS within 160 GSM-7 characters."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from delivery.render import email_bytes, gsm7_length, render, to_gsm7, warn_long_sms

CTX = {
    "rfc": "EKU9003173C9",
    "nombre": "Café <b>Ñandú</b> & Cía",
    "folio": "BI-20240808-114245846",
    "medio": "ana@ejemplo.mx",
    "horas": 72,
    "token": "T" * 32,
    "codigo": "04217",
    "plazo": "antes del 05/12/2026 14:05",
    "rps": [f"Y{n:09d}0" for n in range(23)],
    "aclaraciones": "en la ventanilla «Aclaraciones» de prueba",
}
FROM = "Buzón IMSS masivo <no-responder@imss.ejemplo.mx>"


def _email(tipo: str):  # noqa: ANN202
    msg = render(
        outbox_id=41,
        tipo=tipo,
        canal="correo",
        destino="ana@ejemplo.mx",
        context=CTX,
        public_url="https://buzon.ejemplo.mx/",
        email_from=FROM,
    )
    raw = email_bytes(msg, FROM, datetime(2025, 3, 3, tzinfo=UTC))
    return email.message_from_bytes(raw, policy=email.policy.default), raw


def test_verification_email_parses_and_carries_link_rfc_folio_and_72_hours():
    parsed, raw = _email("verificacion")
    assert parsed["Message-ID"] == "<outbox-41@imss.ejemplo.mx>"
    assert parsed["From"] == FROM and parsed["To"] == "ana@ejemplo.mx"
    assert parsed["Subject"] == (
        "Validación de mecanismos de comunicación como medios de contacto para el Buzón IMSS"
    )
    assert parsed.get_content_type() == "multipart/alternative"
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()
    assert '<a href="https://buzon.ejemplo.mx/v/' + "T" * 32 + '">aquí</a>' in html
    assert "Café &lt;b&gt;Ñandú&lt;/b&gt; &amp; Cía" in html  # autoescaped
    assert "Café <b>Ñandú</b> & Cía" in text  # the text part is not HTML
    for part in (html, text):
        assert "EKU9003173C9" in part and "BI-20240808-114245846" in part
        assert "Estimado(a):" in part and "antes del 05/12/2026 14:05" in part
        assert "24 horas" in part and "ventanilla «Aclaraciones» de prueba" in part
        assert "AVISO DE CONFIDENCIALIDAD" in part
        # The first 20 RPs in their 11-character form, then how many more.
        assert "Y0000000190" in part and "Y0000000200" not in part and "y 3 más" in part
    assert "da clic aquí" in text and "https://buzon.ejemplo.mx/v/" + "T" * 32 in text
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert raw.isascii()


def test_confirmation_email_says_validacion_exitosa():
    parsed, _ = _email("confirmacion")
    assert "Validación exitosa" in parsed["Subject"]
    assert "ana@ejemplo.mx" in parsed.get_body(("plain",)).get_content()


@pytest.mark.parametrize("tipo", ["verificacion", "confirmacion"])
def test_sms_fit_in_160_gsm7_characters_with_the_default_url(tipo):
    msg = render(
        outbox_id=7,
        tipo=tipo,
        canal="sms",
        destino="5512345678",
        context=CTX,
        public_url="http://127.0.0.1:8080",
        email_from=FROM,
    )
    assert msg.to == "+525512345678"
    assert gsm7_length(msg.text) is not None and gsm7_length(msg.text) <= 160
    assert "EKU9003173C9" in msg.text
    if tipo == "verificacion":
        assert "04217" in msg.text and "antes del 05/12/2026 14:05" in msg.text
        assert "http://127.0.0.1:8080/celular" in msg.text
        assert "boton" not in msg.text.lower()  # no action that does not exist
    else:
        assert "exitosa" in msg.text


def test_a_long_public_url_never_drops_the_address_and_warns_once(caplog):
    url = "https://" + "x" * 120 + ".mx"
    msg = render(
        outbox_id=7,
        tipo="verificacion",
        canal="sms",
        destino="5512345678",
        context=CTX,
        public_url=url,
        email_from=FROM,
    )
    assert msg.text.endswith(url + "/celular") and gsm7_length(msg.text) > 160
    warn_long_sms.cache_clear()
    with caplog.at_level("WARNING", logger="delivery.render"):
        assert warn_long_sms(url) is True
        warn_long_sms(url)
        assert warn_long_sms("http://127.0.0.1:8080") is False
    avisos = [r for r in caplog.records if "BUZON_PUBLIC_URL" in r.getMessage()]
    assert len(avisos) == 1


def test_to_gsm7_keeps_what_gsm7_has():
    assert to_gsm7("código Ñandú ¿é?") == "codigo Ñandu ¿é?"
