"""Re-importing an event file: a wholly imported file is skipped unparsed; one cut short by a
crash is parsed again and finished; an edited file is imported (its new lines applied)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import reconcile.apply as rapply
from buzon.settings import Settings
from reconcile.apply import reconciliar
from registry.db import get_engine
from registry.tables import archivos_eventos, eventos
from tests.callbacks.seed import contar
from tests.reconcile.test_chunks import T0, _snapshot, _store, _write, crash_at_chunk


def _no_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path, data):  # noqa: ANN001, ANN202, ARG001
        raise AssertionError(f"{path} was parsed again")

    monkeypatch.setattr(rapply, "validar_bytes", refuse)


def _imported(db_settings: Settings, tmp_path: Path) -> tuple[Settings, list[dict], Path]:
    """A seeded store, an hour after the sends, and its event file (not yet imported)."""
    s = db_settings.model_copy(update={"now": T0 + timedelta(hours=1)})
    _, rows = _store(s)
    return s, rows, _write(tmp_path / "eventos.jsonl", rows)


def test_reimport_of_an_imported_file_is_skipped(
    db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, rows, path = _imported(db_settings, tmp_path)
    first = reconciliar(s, [path], chunk_media=2).as_json()
    assert first["applied"] == len(rows) and first["validated"] >= 3
    with get_engine(s).connect() as conn:
        recorded = conn.execute(select(archivos_eventos.c.nombre, archivos_eventos.c.eventos)).all()
    assert recorded == [("eventos.jsonl", len(rows))]
    after_first = _snapshot(s)

    _no_parse(monkeypatch)
    copy = shutil.copy(path, tmp_path / "otra-copia.jsonl")  # same bytes, another name
    again = reconciliar(s, [path, copy]).as_json()
    assert again["events"] == again["duplicates"] == 2 * len(rows)
    assert again["applied"] == 0 and again["validated"] == 0
    assert _snapshot(s) == after_first
    assert contar(get_engine(s), archivos_eventos) == 1


def test_crash_mid_import_is_finished_by_the_rerun(
    db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, rows, path = _imported(db_settings, tmp_path)
    crash_at_chunk(monkeypatch, 3)  # the last of three chunks: the one that records the file
    with pytest.raises(RuntimeError):
        reconciliar(s, [path], chunk_media=2)
    engine = get_engine(s)
    done = contar(engine, eventos)
    assert 0 < done < len(rows)
    assert contar(engine, archivos_eventos) == 0  # not imported whole: not recorded

    monkeypatch.undo()
    again = reconciliar(s, [path], chunk_media=2).as_json()  # parsed again, finished
    assert again["duplicates"] == done and again["applied"] == len(rows) - done
    assert contar(engine, eventos) == len(rows)
    assert contar(engine, archivos_eventos) == 1

    _no_parse(monkeypatch)
    third = reconciliar(s, [path], chunk_media=2).as_json()
    assert third["duplicates"] == len(rows) and third["applied"] == 0


def test_edited_file_is_not_skipped(
    db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, rows, path = _imported(db_settings, tmp_path)
    reconciliar(s, [path])
    parsed: list[Path] = []
    real = rapply.validar_bytes

    def spy(p, data):  # noqa: ANN001, ANN202
        parsed.append(Path(p))
        return real(p, data)

    monkeypatch.setattr(rapply, "validar_bytes", spy)
    extra = {"tipo": "confirmacion_correo", "token": "y" * 32, "fecha": T0.isoformat()}
    with path.open("a") as fh:
        fh.write(json.dumps(extra) + "\n")
    res = reconciliar(s, [path]).as_json()
    assert parsed == [path]
    assert res["events"] == len(rows) + 1 and res["duplicates"] == len(rows)
    assert res["applied"] == 1 and res["rejected"] == {"desconocido": 1}
    assert contar(get_engine(s), archivos_eventos) == 2
