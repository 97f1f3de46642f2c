"""`buzon recordar`: one reminder per pending medium before its deadline, with the same secret."""

from __future__ import annotations

import doctest
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from delivery_helpers import NOW, add_media, kill_at, sms_settings, smtp_settings
from sqlalchemy import select

from buzon.cli import cli
from buzon.settings import Settings
from delivery import remind as remind_mod
from delivery import secrets as sec
from delivery.dispatcher import dispatch
from delivery.remind import remind
from delivery.resend import resend
from registry import transitions
from registry.db import dispose_all, get_engine
from registry.tables import auditoria, medios, outbox

# Sent at NOW with the default 72-hour window: the deadline is NOW + 72 h, 09:00 in Mexico City.
VENCE = "06/03/2025 09:00"


def _env(settings: Settings, horas: float) -> dict[str, str]:
    """The environment of a command run ``horas`` after NOW with ``settings``' transports."""
    env = {
        "BUZON_HOME": str(settings.home),
        "BUZON_NOW": (NOW + timedelta(hours=horas)).isoformat(),
        "BUZON_EMAIL_TRANSPORT": settings.email_transport,
        "BUZON_SMS_TRANSPORT": settings.sms_transport,
        "BUZON_SMTP_HOST": settings.smtp_host,
        "BUZON_SMTP_PORT": str(settings.smtp_port),
    }
    if settings.database_url:
        env["BUZON_DATABASE_URL"] = settings.database_url
    if settings.sms_url:
        env["BUZON_SMS_URL"] = settings.sms_url
        env["BUZON_SMS_TOKEN"] = settings.sms_token.get_secret_value()
    return env


def _recordar(settings: Settings, horas: float) -> dict:
    result = CliRunner().invoke(cli, ["recordar", "--json"], env=_env(settings, horas))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _medio(settings: Settings, mid: int):  # noqa: ANN202
    with get_engine(settings).connect() as conn:
        return conn.execute(select(medios).where(medios.c.id == mid)).one()


def _code(text: str) -> str:
    return re.search(r"\b(\d{5})\b", text).group(1)


def test_sms_reminder_carries_the_same_code_once_and_is_not_a_send(db_settings, gateway):
    settings = sms_settings(db_settings, gateway)
    media = add_media(settings, [("telefono", "5512345601"), ("telefono", "5512345602")])
    dispatch(settings)
    codes = {r.body["to"]: _code(r.body["message"]) for r in gateway.requests}
    before = {m.id: _medio(settings, m.id) for m in media}

    assert _recordar(settings, 47) == {"reminded": 0, "skipped": {}}  # 25 h left: too early
    assert len(gateway.requests) == 2

    assert _recordar(settings, 49) == {"reminded": 2, "skipped": {}}
    reminders = gateway.requests[2:]
    assert len(reminders) == 2
    for m, req in zip(media, sorted(reminders, key=lambda r: r.body["to"]), strict=True):
        text = req.body["message"]
        assert req.body["to"] == f"+52{m.valor}"
        assert _code(text) == codes[req.body["to"]]  # the same 5-digit code, no new secret
        assert "recordatorio" in text and m.rfc in text and f"antes del {VENCE}" in text
        row = _medio(settings, m.id)
        old = before[m.id]
        assert (row.estado, row.envios, row.vence_en, row.secreto_hash) == (
            "enviado", 1, old.vence_en, old.secreto_hash,
        )  # fmt: skip

    again = _recordar(settings, 50)
    assert again == {"reminded": 0, "skipped": {"ya_recordado": 2}}
    assert len(gateway.requests) == 4

    # Not counted toward the cap: four resends after the reminder still go out (5 sends).
    for _ in range(4):
        resend(settings.model_copy(update={"now": NOW + timedelta(hours=51)}), media[0].rfc,
               media[0].valor)  # fmt: skip
    assert _medio(settings, media[0].id).envios == 5
    with get_engine(settings).connect() as conn:
        origenes = (
            conn.execute(
                select(auditoria.c.origen).where(auditoria.c.entidad_id == str(media[1].id))
            )
            .scalars()
            .all()
        )
        tipos = conn.execute(select(outbox.c.tipo, outbox.c.estado)).all()
    assert "comando:recordar" in origenes
    assert sorted(tipos).count(("recordatorio", "enviado")) == 2


def test_email_reminder_carries_the_same_link_and_it_still_validates(
    db_settings, smtp_server, tmp_path
):
    settings = smtp_settings(db_settings, smtp_server)
    (m,) = add_media(settings, [("correo", "pendiente@ejemplo.mx")])
    dispatch(settings)
    (first,) = smtp_server.handler.received
    token = re.search(r"/v/([A-Za-z0-9_-]+)", first.part("html")).group(1)

    assert _recordar(settings, 60) == {"reminded": 1, "skipped": {}}
    reminder = smtp_server.handler.received[1]
    assert reminder.msg["Subject"].startswith("Recordatorio")
    assert reminder.message_id != first.message_id
    html, text = reminder.part("html"), reminder.part("plain")
    assert f'<a href="http://127.0.0.1:8080/v/{token}">aquí</a>' in html
    assert f"/v/{token}" in text and f"antes del {VENCE}" in text and "recordatorio" in text
    assert _medio(settings, m.id).envios == 1

    # The reminded link validates through reconcile, like the original.
    eventos = tmp_path / "eventos.jsonl"
    fecha = (NOW + timedelta(hours=61)).isoformat()
    eventos.write_text(json.dumps({"tipo": "confirmacion_correo", "token": token, "fecha": fecha}))
    done = CliRunner().invoke(cli, ["reconcile", "--events", str(eventos)], env=_env(settings, 61))
    assert done.exit_code == 0, done.output
    assert _medio(settings, m.id).estado == "validado"
    assert _recordar(settings, 62) == {"reminded": 0, "skipped": {"validado": 1}}
    assert len(smtp_server.handler.received) == 2  # no second reminder
    with get_engine(settings).connect() as conn:  # recordar sends reminders only
        assert conn.execute(select(outbox.c.tipo).where(outbox.c.estado == "pendiente")).all() == [
            ("confirmacion",)
        ]


def test_no_reminder_for_validated_expired_dead_or_early_media_with_the_spool(settings):
    media = add_media(
        settings,
        [("correo", f"m{i}@ejemplo.mx") for i in range(5)] + [("telefono", "5512345603")],
    )
    at = settings.model_copy(update={"now": NOW})
    dispatch(at)
    validado, muerto, normal, rebotado, retirado, sms = media
    engine = get_engine(settings)
    with engine.begin() as conn:
        transitions.cambiar_estado(
            conn, [validado.id], "validado", origen="prueba", now=NOW, validado_en=NOW
        )
        transitions.cambiar_estado(
            conn, [rebotado.id], "no_entregado", origen="prueba", now=NOW, motivo="rebote"
        )
        transitions.cambiar_estado(conn, [retirado.id], "baja", origen="prueba", now=NOW)
        killed, cancelled = transitions.sumar_intentos(
            conn, [muerto.id], [5], ["prueba"], maximo=5, max_envios=5, now=NOW
        )
    assert (killed, cancelled) == (1, 0)
    spool = settings.spool_dir
    emails = lambda: len(list((spool / "email").iterdir()))  # noqa: E731
    smss = lambda: len((spool / "sms.jsonl").read_text().splitlines())  # noqa: E731
    assert (emails(), smss()) == (5, 1)

    assert _recordar(at, 30) == {"reminded": 0, "skipped": {}}  # 42 h left: outside the window
    out = _recordar(at, 50)
    assert out == {
        "reminded": 2,
        "skipped": {"codigo_anulado": 1, "no_pendiente": 2, "validado": 1},
    }
    assert (emails(), smss()) == (6, 2)
    body = json.loads((spool / "sms.jsonl").read_text().splitlines()[-1])
    first = json.loads((spool / "sms.jsonl").read_text().splitlines()[0])
    assert _code(body["message"]) == _code(first["message"]) and sms.rfc in body["message"]

    # Past the deadline nothing is reminded, expired or not yet swept.
    assert _recordar(at, 73) == {"reminded": 0, "skipped": {}}
    with engine.begin() as conn:
        assert transitions.vencer(conn, NOW + timedelta(hours=73), "prueba", "vencido") == 3
    assert _recordar(at, 73) == {"reminded": 0, "skipped": {}}
    assert (emails(), smss()) == (6, 2)
    recordados = [
        p.read_text() for p in (spool / "email").iterdir() if "Recordatorio" in p.read_text()
    ]
    assert len(recordados) == 1 and normal.valor in recordados[0]


def test_reminder_whose_code_was_replaced_before_its_retry_is_discarded(db_settings, gateway):
    settings = sms_settings(db_settings, gateway)
    (m,) = add_media(settings, [("telefono", "5512345604")])
    dispatch(settings)
    later = settings.model_copy(update={"now": NOW + timedelta(hours=50)})
    gateway.script[f"+52{m.valor}"] = [503]  # the reminder is deferred by the gateway
    assert remind(later).as_json() == {"reminded": 0, "skipped": {"reintento_programado": 1}}

    resend(later, m.rfc, m.valor)  # a new code: the reminder's one is dead now
    new_code = _code(gateway.requests[-1].body["message"])
    retry = later.model_copy(update={"now": NOW + timedelta(hours=57)})  # past any backoff
    assert remind(retry).as_json() == {"reminded": 0, "skipped": {"codigo_anulado": 1}}
    assert len(gateway.requests) == 3  # verification, deferred reminder, resend: nothing more
    with get_engine(settings).connect() as conn:
        row = conn.execute(
            select(outbox.c.estado, outbox.c.error).where(outbox.c.tipo == "recordatorio")
        ).one()
    assert row == ("descartado", "recordatorio de un código que ya no es el vigente")
    key = sec.load_key(settings)
    assert sec.verify_code(key, m.id, new_code, _medio(settings, m.id).secreto_hash)


@pytest.mark.timeout(180)
def test_kill_mid_run_then_rerun_sends_each_reminder_once_but_the_in_flight_one(
    settings, smtp_server
):
    s = smtp_settings(settings, smtp_server)
    add_media(s, [("correo", f"r{i}@ejemplo.mx") for i in range(8)])
    dispatch(s)
    dispose_all()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    env |= _env(s, 55) | {"BUZON_CHUNK_SIZE": "3", "PYTHONPATH": str(Path.cwd())}
    cmd = [sys.executable, "-m", "buzon", "recordar", "--json"]

    in_flight = kill_at(smtp_server, 8 + 4, cmd, env)  # the 4th reminder reaches the server

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"reminded": 5, "skipped": {"ya_recordado": 8}}
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout) == {"reminded": 0, "skipped": {"ya_recordado": 8}}

    reminders = {
        k: v
        for k, v in smtp_server.handler.by_id().items()
        if v[0].msg["Subject"].startswith("Rec")
    }
    assert len(reminders) == 8
    assert [k for k, v in reminders.items() if len(v) > 1] == [in_flight]
    a, b = reminders[in_flight]
    assert a.part("html") == b.part("html")  # the same link on the re-send


def test_recordar_help_is_spanish_with_an_example(settings):
    result = CliRunner().invoke(cli, ["recordar", "--help"])
    assert result.exit_code == 0
    assert "recordatorio" in result.output and "Ejemplo:" in result.output
    assert "buzon recordar --json" in result.output
    text = CliRunner().invoke(cli, ["recordar"], env={"BUZON_HOME": str(settings.home)})
    assert text.exit_code == 0 and text.output == "recordatorios enviados: 0\n"


def test_motivo_examples():
    result = doctest.testmod(remind_mod)
    assert result.attempted > 0 and result.failed == 0
