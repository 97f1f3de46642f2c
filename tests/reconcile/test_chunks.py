"""``buzon reconcile`` commits one chunk of media at a time: a crash between chunks leaves each
chunk whole, the re-run finishes the rest, and the outcome is the one-transaction outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import reconcile.apply as rapply
from buzon.errors import EventFileError
from buzon.settings import Settings
from reconcile.apply import reconciliar
from reconcile.events import leer_archivo
from registry.db import get_engine
from registry.tables import acuses, archivos_eventos, auditoria, eventos, medios, outbox
from tests.callbacks.seed import contar, sembrar

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
RFC = "EKU9003173C9"


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def _store(settings: Settings) -> tuple[list, Path]:
    """Six media with interleaved events: wrong then right codes, links, a bounce, unknowns."""
    engine = get_engine(settings)
    tels = [sembrar(engine, settings, RFC, telefono=f"55123456{n:02d}", enviado_en=T0)
            for n in range(3)]  # fmt: skip
    mails = [sembrar(engine, settings, RFC, correo=f"m{n}@b.mx", enviado_en=T0) for n in range(3)]
    rows = []
    for k, t in enumerate(tels):
        wrong = f"{(int(t.secreto) + 1) % 100000:05d}"
        rows += [
            {"tipo": "codigo_sms", "rfc": RFC, "telefono": t.valor, "codigo": wrong,
             "fecha": _at(10 + k)},
            {"tipo": "codigo_sms", "rfc": RFC, "telefono": t.valor, "codigo": t.secreto,
             "fecha": _at(5 + k) if k == 0 else _at(20 + k)},
        ]  # fmt: skip
    rows += [{"tipo": "confirmacion_correo", "token": m.secreto, "fecha": _at(30)} for m in mails]
    rows += [{"tipo": "entrega", "referencia": mails[2].outbox_id, "estado": "bounced",
              "fecha": _at(1)}]  # fmt: skip
    rows += [{"tipo": "confirmacion_correo", "token": "x" * 32, "fecha": _at(2)}]
    return tels + mails, rows


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def crash_at_chunk(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make the ``n``-th chunk's transaction fail as a killed process would (nothing of it
    committed); ``monkeypatch.undo()`` restores the real ``aplicar``."""
    calls = []
    real = rapply.aplicar

    def crash(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == n:
            raise RuntimeError(f"kill -9 in chunk {n}")
        return real(*args, **kwargs)

    monkeypatch.setattr(rapply, "aplicar", crash)


def _snapshot(settings: Settings) -> tuple:
    engine = get_engine(settings)
    with engine.connect() as conn:
        media = conn.execute(
            select(medios.c.valor, medios.c.estado, medios.c.intentos_fallidos).order_by("valor")
        ).all()
        audit = conn.execute(
            select(auditoria.c.entidad_id, auditoria.c.de_estado, auditoria.c.a_estado)
            .where(auditoria.c.entidad == "medio")
            .order_by(auditoria.c.entidad_id, auditoria.c.id)
        ).all()
    counts = tuple(contar(engine, t) for t in (eventos, acuses, outbox))
    return media, audit, counts


def test_crash_between_chunks_then_rerun(
    db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = db_settings.model_copy(update={"now": T0 + timedelta(hours=1)})
    media, rows = _store(s)
    path = _write(tmp_path / "eventos.jsonl", rows)
    partes = rapply.trozos(get_engine(s), s, leer_archivo(path), 2)
    assert len(partes) == 3 and sum(p.height for p in partes) == len(rows)

    crash_at_chunk(monkeypatch, 2)
    with pytest.raises(RuntimeError):
        reconciliar(s, [path], chunk_media=2)
    engine = get_engine(s)
    # The first chunk is whole: its events, and nothing of the others.
    assert contar(engine, eventos) == partes[0].height
    monkeypatch.undo()
    again = reconciliar(s, [path], chunk_media=2).as_json()
    assert again["duplicates"] == partes[0].height
    assert again["applied"] == len(rows) - partes[0].height
    media_estado = {r.valor: r.estado for r in _snapshot(s)[0]}
    assert media_estado[media[0].valor] == "validado" and media_estado[media[5].valor] == (
        "no_entregado"
    )


def test_chunked_equals_one_transaction(
    db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same seeded store twice (same secrets): chunked and unchunked runs agree row for row (the
    chunked run resolves its media in slices of three events)."""
    monkeypatch.setattr(rapply, "_RESOLVER", 3)
    s = db_settings.model_copy(update={"now": T0 + timedelta(hours=1)})
    media, rows = _store(s)
    path = _write(tmp_path / "eventos.jsonl", rows)
    engine = get_engine(s)
    with engine.connect() as conn:
        antes = conn.execute(select(medios)).all()
    res_one = reconciliar(s, [path], chunk_media=10_000).as_json()
    one = _snapshot(s)
    # Back to the seeded store (same secrets), then the same file in chunks of two media.
    with engine.begin() as conn:
        for t in (auditoria, acuses, eventos, archivos_eventos):
            conn.execute(t.delete())
        conn.execute(outbox.delete().where(outbox.c.tipo == "confirmacion"))
        for r in antes:
            conn.execute(medios.update().where(medios.c.id == r.id).values(r._asdict()))
    res_chunked = reconciliar(s, [path], chunk_media=2).as_json()
    assert res_chunked == res_one
    assert _snapshot(s) == one
    assert res_one["validated"] >= 3


def test_bad_line_imports_nothing_even_chunked(db_settings: Settings, tmp_path: Path) -> None:
    s = db_settings.model_copy(update={"now": T0 + timedelta(hours=1)})
    _, rows = _store(s)
    path = tmp_path / "eventos.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"tipo": "otro"}\n')
    with pytest.raises(EventFileError):
        reconciliar(s, [path], chunk_media=1)
    assert contar(get_engine(s), eventos) == 0
