"""``cancelado``: the code of a medium's last allowed send dies of wrong codes -> cancelled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from buzon.errors import NotFoundError
from buzon.settings import Settings
from delivery.resend import resend
from reconcile.apply import reconciliar
from registry.db import get_engine
from registry.tables import auditoria
from tests.callbacks.seed import contar, medio, sembrar

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
RFC = "EKU9003173C9"
TEL = "5512345678"


def _codigos(path: Path, codes: list[str]) -> Path:
    rows = [
        {"tipo": "codigo_sms", "rfc": RFC, "telefono": TEL, "codigo": c,
         "fecha": (T0 + timedelta(minutes=k + 1)).isoformat()}
        for k, c in enumerate(codes)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _otro(code: str, k: int) -> str:
    return f"{(int(code) + k) % 100000:05d}"


@pytest.mark.parametrize(("max_envios", "estado"), [(1, "cancelado"), (2, "enviado")])
def test_last_send_exhausted_cancels(
    db_settings: Settings, tmp_path: Path, max_envios: int, estado: str
) -> None:
    s = db_settings.model_copy(
        update={"now": T0 + timedelta(hours=1), "max_sends_per_medium": max_envios}
    )
    engine = get_engine(s)
    t = sembrar(engine, s, RFC, telefono=TEL, enviado_en=T0)  # one send made
    wrong = [_otro(t.secreto, k) for k in range(1, 6)]
    res = reconciliar(s, [_codigos(tmp_path / "a.jsonl", [*wrong, t.secreto])]).as_json()
    assert res["validated"] == 0 and res["rejected"] == {
        "codigo_agotado": 1, "codigo_incorrecto": 5
    }  # fmt: skip
    row = medio(engine, t.medio_id)
    assert (row.estado, row.secreto_hash, row.intentos_fallidos) == (estado, None, 5)
    cancel = (auditoria.c.entidad_id == str(t.medio_id), auditoria.c.a_estado == "cancelado")
    assert contar(engine, auditoria, *cancel) == (1 if estado == "cancelado" else 0)
    if estado == "cancelado":
        assert row.motivo.startswith("5 códigos incorrectos y 1 envíos")
        # Terminal: a later right code is not valid any more, and the medium cannot be re-sent.
        later = s.model_copy(update={"now": T0 + timedelta(hours=2)})
        res = reconciliar(later, [_codigos(tmp_path / "b.jsonl", [t.secreto] * 1)]).as_json()
        assert res["rejected"] == {"no_vigente": 1}
        with pytest.raises(NotFoundError):
            resend(later, RFC, TEL, send=False)
        # Re-running the same file changes nothing.
        again = reconciliar(later, [tmp_path / "a.jsonl"]).as_json()
        assert again["duplicates"] == 6 and contar(engine, auditoria, *cancel) == 1
