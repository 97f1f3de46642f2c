"""Reconciliation: event files in both formats, replays, code limits, resends, expiry, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from buzon.cli import cli
from buzon.errors import EventFileError
from buzon.settings import Settings
from callbacks.simulate import codigos
from reconcile.apply import reconciliar
from reconcile.rules import decidir
from registry.db import get_engine
from registry.tables import acuses, auditoria, eventos, outbox
from tests.callbacks.seed import contar as _count
from tests.callbacks.seed import medio as _medio
from tests.callbacks.seed import sembrar

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
RFC = "EKU9003173C9"
COLS = ["tipo", "referencia", "token", "rfc", "telefono", "codigo", "estado", "motivo", "fecha"]


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _otro(code: str, k: int = 1) -> str:
    return f"{(int(code) + k) % 100000:05d}"


def _codigo(telefono: str, code: str, minute: float) -> dict:
    """One typed SMS code for the module's RFC."""
    return {
        "tipo": "codigo_sms",
        "rfc": RFC,
        "telefono": telefono,
        "codigo": code,
        "fecha": _at(minute),
    }


def _write(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".csv":
        lines = [",".join(COLS)] + [",".join(str(r.get(c, "")) for c in COLS) for r in rows]
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_decidir_orders_attempts_per_medium() -> None:
    ev = pl.DataFrame(
        {
            "seq": list(range(8)),
            "tipo": ["codigo_sms"] * 6 + ["confirmacion_correo", "entrega"],
            "fecha": [T0 + timedelta(minutes=m) for m in (1, 2, 3, 4, 5, 6, 8, 7)],
            "medio_id": [1] * 6 + [2, 2],
            "coincide": [False] * 5 + [True, True, False],
            "referencia": [None] * 7 + [20],
            "estado": [None] * 7 + ["bounced"],
            "outbox_tipo": [None] * 7 + ["verificacion"],
        }
    ).with_columns(pl.col("fecha").dt.cast_time_unit("us"))
    med = pl.DataFrame(
        {
            "id": [1, 2],
            "estado": ["enviado", "enviado"],
            "con_secreto": [True, True],
            "vence_en": [T0 + timedelta(hours=72)] * 2,
            "intentos_fallidos": [0, 0],
            "envio_vigente": [10, 20],
        }
    ).with_columns(pl.col("vence_en").dt.cast_time_unit("us"))
    out = decidir(ev, med, 5)["resultado"].to_list()
    # Five wrong codes kill the code: the right one after them is refused. The bounce at minute 7
    # precedes the click at minute 8, so the medium is no_entregado and the click changes nothing.
    assert out == ["codigo_incorrecto"] * 5 + ["codigo_agotado", "no_vigente", "no_entregado"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_event_file_applied_once(db_settings: Settings, tmp_path: Path, fmt: str) -> None:
    s = db_settings.model_copy(update={"now": T0 + timedelta(hours=1)})
    engine = get_engine(s)
    c = sembrar(engine, s, RFC, correo="a@b.mx", enviado_en=T0)
    t = sembrar(engine, s, RFC, telefono="5512345678", enviado_en=T0)
    b = sembrar(engine, s, "XAXB010101AB1"[:12], correo="rebota@x.mx", enviado_en=T0)
    rows = [
        {"tipo": "entrega", "referencia": c.outbox_id, "estado": "delivered", "fecha": _at(1)},
        {
            "tipo": "entrega",
            "referencia": b.outbox_id,
            "estado": "bounced",
            "motivo": "550 no existe",
            "fecha": _at(1),
        },
        {
            "tipo": "codigo_sms",
            "rfc": RFC,
            "telefono": "5512345678",
            "codigo": _otro(t.secreto),
            "fecha": _at(3),
        },
        {"tipo": "confirmacion_correo", "token": c.secreto, "fecha": _at(5)},
        {
            "tipo": "codigo_sms",
            "rfc": RFC,
            "telefono": "5512345678",
            "codigo": t.secreto,
            "fecha": _at(4),
        },
        {"tipo": "confirmacion_correo", "token": c.secreto, "fecha": _at(9)},
        {"tipo": "confirmacion_correo", "token": "x" * 32, "fecha": _at(9)},
    ]
    path = _write(tmp_path / f"eventos.{fmt}", rows)
    res = reconciliar(s, [path]).as_json()
    assert res == {
        "events": 7,
        "applied": 7,
        "rejected": {"codigo_incorrecto": 1, "desconocido": 1, "ya_validado": 1},
        "validated": 2,
        "expired": 0,
        "no_entregado": 1,
        "duplicates": 0,
    }
    assert _medio(engine, c.medio_id).estado == "validado"
    assert _medio(engine, t.medio_id).estado == "validado"
    bounced = _medio(engine, b.medio_id)
    assert (bounced.estado, bounced.aclaracion, bounced.motivo) == (
        "no_entregado",
        True,
        "550 no existe",
    )
    assert _count(engine, acuses, acuses.c.tipo == "validacion") == 2
    assert _count(engine, outbox, outbox.c.tipo == "confirmacion") == 2
    assert _count(engine, auditoria, auditoria.c.a_estado.in_(["validado", "no_entregado"])) == 3
    # Stored events hold digests, never the code or token.
    with engine.connect() as conn:
        datos = " ".join(conn.execute(select(eventos.c.datos)).scalars())
    assert c.secreto not in datos and f'"{t.secreto}"' not in datos
    again = reconciliar(s, [path]).as_json()
    assert again["applied"] == 0 and again["duplicates"] == 7 and again["validated"] == 0
    assert _count(engine, eventos) == 7 and _count(engine, acuses) == 2


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_malformed_lines_reject_the_whole_import(
    db_settings: Settings, tmp_path: Path, fmt: str
) -> None:
    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    c = sembrar(engine, s, RFC, correo="a@b.mx")
    good = _write(
        tmp_path / f"bueno.{fmt}",
        [{"tipo": "confirmacion_correo", "token": c.secreto, "fecha": _at(1)}],
    )
    rows = [
        {"tipo": "confirmacion_correo", "token": c.secreto, "fecha": _at(2)},
        {"tipo": "codigo_sms", "rfc": RFC, "telefono": "55123", "codigo": "12345", "fecha": _at(2)},
        {"tipo": "entrega", "referencia": 1, "estado": "delivered", "fecha": "ayer"},
    ]
    bad = _write(tmp_path / f"malo.{fmt}", rows)
    with pytest.raises(EventFileError) as err:
        reconciliar(s, [good, bad])
    first = 3 if fmt == "csv" else 2  # the CSV header is line 1
    assert f"línea {first}: teléfono inválido" in err.value.message
    assert f"línea {first + 1}: fecha inválida" in err.value.message
    assert _count(engine, eventos) == 0 and _medio(engine, c.medio_id).estado == "enviado"
    if fmt == "jsonl":
        broken = tmp_path / "roto.jsonl"
        broken.write_text(json.dumps(rows[0]) + "\n{no es json\n")
        with pytest.raises(EventFileError, match="línea 2: no es un objeto JSON"):
            reconciliar(s, [broken])
    else:
        ragged = tmp_path / "roto.csv"
        ragged.write_text(
            ",".join(COLS) + "\nentrega,1,,,,,delivered,,2024-08-08T12:00:00Z,extra\n"
        )
        with pytest.raises(EventFileError, match="línea 2: 10 columnas"):
            reconciliar(s, [ragged])
    assert _count(engine, eventos) == 0


def test_wrong_codes_add_up_across_runs(db_settings: Settings, tmp_path: Path) -> None:
    s = db_settings.model_copy(update={"now": T0 + timedelta(hours=2)})
    engine = get_engine(s)
    t = sembrar(engine, s, RFC, telefono="5512345678", enviado_en=T0)

    def intento(code: str, minute: int) -> dict:
        return _codigo("5512345678", code, minute)

    reconciliar(
        s, [_write(tmp_path / "a.jsonl", [intento(_otro(t.secreto, k), k) for k in range(1, 4)])]
    )
    assert _medio(engine, t.medio_id).intentos_fallidos == 3
    second = [intento(_otro(t.secreto, k), k) for k in range(4, 6)] + [intento(t.secreto, 9)]
    res = reconciliar(s, [_write(tmp_path / "b.jsonl", second)]).as_json()
    assert (
        res["rejected"] == {"codigo_agotado": 1, "codigo_incorrecto": 2} and res["validated"] == 0
    )
    row = _medio(engine, t.medio_id)
    assert row.estado == "enviado" and row.secreto_hash is None and row.intentos_fallidos == 5
    # The code's death is audited once, naming the limit.
    muerte = auditoria.c.detalle.like("5 códigos incorrectos%")
    assert _count(engine, auditoria, auditoria.c.entidad_id == str(t.medio_id), muerte) == 1


def test_code_after_resend_and_after_expiry(db_settings: Settings, tmp_path: Path) -> None:
    from delivery.dispatcher import dispatch
    from delivery.resend import resend

    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    sembrar(engine, s, RFC, telefono="5512345678", estado="registrado")
    dispatch(s, limit=10)
    ((_, _, viejo),) = codigos(s)
    later = s.model_copy(update={"now": T0 + timedelta(hours=1)})
    resend(later, RFC, "5512345678")
    ((_, _, nuevo),) = codigos(s)
    assert nuevo != viejo or pytest.skip("the two random codes collided")

    def intento(code: str, minute: int) -> dict:
        return _codigo("5512345678", code, minute)

    res = reconciliar(later, [_write(tmp_path / "old.jsonl", [intento(viejo, 61)])]).as_json()
    assert res["rejected"] == {"codigo_incorrecto": 1}
    # The new code's window started at the resend: 72 h from there, not from the first send.
    past = s.model_copy(update={"now": T0 + timedelta(hours=74)})
    res = reconciliar(
        past, [_write(tmp_path / "new.jsonl", [intento(nuevo, 72 * 60 + 30)])]
    ).as_json()
    assert res["validated"] == 1 and res["expired"] == 0
    u = sembrar(engine, s, RFC, correo="tarde@b.mx", enviado_en=T0)
    late = [{"tipo": "confirmacion_correo", "token": u.secreto, "fecha": _at(72 * 60 + 1)}]
    res = reconciliar(past, [_write(tmp_path / "late.jsonl", late)]).as_json()
    assert res["rejected"] == {"vencido": 1} and res["expired"] == 1
    assert _medio(engine, u.medio_id).estado == "vencido"


def test_cli_honours_buzon_now(settings: Settings, tmp_path: Path, monkeypatch) -> None:
    engine = get_engine(settings)
    s = settings.model_copy(update={"now": T0})
    c = sembrar(engine, s, RFC, correo="a@b.mx")
    monkeypatch.setenv("BUZON_HOME", str(settings.home))
    runner = CliRunner()
    monkeypatch.setenv("BUZON_NOW", (T0 + timedelta(hours=71)).isoformat())
    assert json.loads(runner.invoke(cli, ["reconcile", "--json"]).output)["expired"] == 0
    monkeypatch.setenv("BUZON_NOW", "2024-08-11T06:00:01-06:00")  # 72 h + 1 s, given in local time
    first = runner.invoke(cli, ["reconcile", "--json"])
    assert first.exit_code == 0 and json.loads(first.output)["expired"] == 1
    second = runner.invoke(cli, ["reconcile", "--json"])
    assert json.loads(second.output) == {
        "events": 0,
        "applied": 0,
        "rejected": {},
        "validated": 0,
        "expired": 0,
        "no_entregado": 0,
        "duplicates": 0,
    }
    assert _medio(engine, c.medio_id).estado == "vencido"
    bad = _write(tmp_path / "malo.csv", [{"tipo": "nada", "fecha": _at(1)}])
    r = runner.invoke(cli, ["reconcile", "--events", str(bad)])
    assert (
        r.exit_code == 2 and "línea 2: tipo desconocido" in r.output and "Traceback" not in r.output
    )


def test_bulk_path_keeps_per_medium_order(
    db_settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    """A file large enough for the bulk paths (whole-store snapshot, range duplicate check,
    sliced inserts) decides exactly like a small one."""
    import reconcile.store as rio

    monkeypatch.setattr(rio, "IN_MAX", 1000)
    monkeypatch.setattr(rio, "ROWS_PER_WRITE", 700)
    s = db_settings.model_copy(update={"now": T0 + timedelta(hours=80)})
    engine = get_engine(s)
    three = sembrar(engine, s, RFC, telefono="5512345678", enviado_en=T0)
    five = sembrar(engine, s, RFC, telefono="5587654321", enviado_en=T0)
    late = sembrar(engine, s, RFC, correo="tarde@b.mx", enviado_en=T0)
    idle = sembrar(engine, s, RFC, correo="nadie@b.mx", enviado_en=T0)
    bounced = sembrar(engine, s, RFC, correo="rebota@b.mx", enviado_en=T0)

    def code(m, c: str, minute: float) -> dict:
        return _codigo(m.valor, c, minute)

    rows = [code(three, _otro(three.secreto, k), k) for k in range(1, 4)]
    rows += [code(three, three.secreto, 10), code(three, _otro(three.secreto), 11)]
    rows += [code(five, _otro(five.secreto, k), k) for k in range(1, 6)]
    rows += [code(five, five.secreto, 12)]
    rows += [{"tipo": "confirmacion_correo", "token": late.secreto, "fecha": _at(72 * 60 + 1)}]
    rows += [
        {"tipo": "entrega", "referencia": bounced.outbox_id, "estado": "bounced", "fecha": _at(2)}
    ]
    rows += [
        {"tipo": "confirmacion_correo", "token": f"desconocido{i:08d}", "fecha": _at(i / 100)}
        for i in range(2500)
    ]
    rows.reverse()  # file order is not time order
    path = _write(tmp_path / "grande.csv", rows)
    res = reconciliar(s, [path]).as_json()
    assert res == {
        "events": 2513,
        "applied": 2513,
        "rejected": {
            "codigo_agotado": 1,
            "codigo_incorrecto": 8,
            "desconocido": 2500,
            "vencido": 1,
            "ya_validado": 1,
        },
        "validated": 1,
        "expired": 3,
        "no_entregado": 1,
        "duplicates": 0,
    }
    assert (
        _medio(engine, three.medio_id).estado,
        _medio(engine, three.medio_id).intentos_fallidos,
    ) == ("validado", 3)
    dead = _medio(engine, five.medio_id)
    assert (dead.estado, dead.intentos_fallidos, dead.secreto_hash) == ("vencido", 5, None)
    assert _medio(engine, late.medio_id).estado == "vencido"
    assert _medio(engine, idle.medio_id).estado == "vencido"
    assert _medio(engine, bounced.medio_id).estado == "no_entregado"
    assert _count(engine, auditoria, auditoria.c.a_estado == "vencido") == 3
    assert _count(engine, acuses, acuses.c.medio_id == three.medio_id) == 1
    again = reconciliar(s, [path]).as_json()
    assert again["duplicates"] == 2513 and again["applied"] == 0 and again["expired"] == 0
    assert _count(engine, eventos) == 2513
