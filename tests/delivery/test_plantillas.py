"""Templates: Spanish wording, the "aquí" link, escaping, SMS within 160 GSM-7 characters."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from delivery.render import email_bytes, gsm7_length, render, to_gsm7

CTX = {
    "rfc": "EKU9003173C9",
    "nombre": "Café <b>Ñandú</b> & Cía",
    "folio": "BI-20240808-114245846",
    "medio": "ana@ejemplo.mx",
    "horas": 72,
    "token": "T" * 32,
    "codigo": "04217",
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
    assert parsed["Subject"] == "Validación de tu correo electrónico para el Buzón IMSS"
    assert parsed.get_content_type() == "multipart/alternative"
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()
    assert '<a href="https://buzon.ejemplo.mx/v/' + "T" * 32 + '">aquí</a>' in html
    assert "Café &lt;b&gt;Ñandú&lt;/b&gt; &amp; Cía" in html  # autoescaped
    assert "Café <b>Ñandú</b> & Cía" in text  # the text part is not HTML
    for part in (html, text):
        assert "EKU9003173C9" in part and "BI-20240808-114245846" in part and "72 horas" in part
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert raw.isascii()


def test_confirmation_email_says_validacion_exitosa():
    parsed, _ = _email("confirmacion")
    assert "Validación exitosa" in parsed["Subject"]
    assert "ana@ejemplo.mx" in parsed.get_body(("plain",)).get_content()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "https://" + "x" * 120 + ".mx"])
@pytest.mark.parametrize("tipo", ["verificacion", "confirmacion"])
def test_sms_fit_in_160_gsm7_characters(tipo, url):
    msg = render(
        outbox_id=7,
        tipo=tipo,
        canal="sms",
        destino="5512345678",
        context=CTX,
        public_url=url,
        email_from=FROM,
    )
    assert msg.to == "+525512345678"
    assert gsm7_length(msg.text) is not None and gsm7_length(msg.text) <= 160
    if tipo == "verificacion":
        assert "04217" in msg.text and "72 h" in msg.text
        assert "Reenviar codigo de verificacion" in msg.text
        assert ("/celular" in msg.text) == (len(url) < 60)
    else:
        assert "exitosa" in msg.text


def test_to_gsm7_keeps_what_gsm7_has():
    assert to_gsm7("código Ñandú ¿é?") == "codigo Ñandu ¿é?"
