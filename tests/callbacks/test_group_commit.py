"""Concurrent requests batched into one transaction give the same outcome as one after the other."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr
from seed import contar as _count
from seed import medio as _medio
from seed import sembrar

from buzon.settings import Settings
from callbacks.signature import sign
from registry.db import get_engine
from registry.tables import eventos

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
RFC = "EKU9003173C9"
SECRETO = "g" * 32


def test_concurrent_codes_and_webhooks(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(
        update={
            "now": T0,
            "webhook_secret": SecretStr(SECRETO),
            "rate_limit_code_address": "100 per minute",  # one test client, many people
        }
    )
    engine = get_engine(s)
    blanco = sembrar(engine, s, RFC, telefono="5511111111")
    otros = [sembrar(engine, s, RFC, telefono=f"55222222{i:02d}") for i in range(15)]
    correo = sembrar(engine, s, RFC, correo="a@b.mx")
    base = receptor(s)
    page = httpx.get(f"{base}/celular").text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    wrong = f"{(int(blanco.secreto) + 1) % 100000:05d}"
    body = json.dumps(
        {"reference": correo.outbox_id, "status": "delivered", "at": "2024-08-08T12:01:00Z"}
    ).encode()
    headers = {"content-type": "application/json", **sign(SECRETO, body, T0)}

    def code(args: tuple[str, str]) -> str:
        tel, typed = args
        data = {"rfc": RFC, "telefono": tel, "codigo": typed, "csrf": token}
        r = httpx.post(f"{base}/celular", data=data, timeout=60)
        assert r.status_code == 200
        return "exitosa" if "fue exitosa" in r.text else "generico"

    def hook(_: int) -> str:
        r = httpx.post(f"{base}/webhooks/entregas", content=body, headers=headers, timeout=60)
        assert r.status_code == 200
        return r.json()["resultado"]

    def bad(_: int) -> int:  # breaks the event rules: only its own request fails
        data = {"rfc": "NO-ES-RFC", "telefono": "5511111111", "codigo": wrong, "csrf": token}
        return httpx.post(f"{base}/celular", data=data, timeout=60).status_code

    work = [("5511111111", wrong)] * 8 + [(m.valor, m.secreto) for m in otros]
    with ThreadPoolExecutor(28) as pool:
        hooks = pool.map(hook, range(8))
        bads = pool.map(bad, range(4))
        codes = list(pool.map(code, work))
        hooks, bads = list(hooks), list(bads)
    assert bads == [400] * 4
    assert codes == ["generico"] * 8 + ["exitosa"] * 15
    assert sorted(hooks) == ["duplicado"] * 7 + ["entregado"]
    # Eight wrong codes: five counted, then the code is dead; every attempt is recorded.
    row = _medio(engine, blanco.medio_id)
    assert row.intentos_fallidos == 5 and row.secreto_hash is None
    assert all(_medio(engine, m.medio_id).estado == "validado" for m in otros)
    assert _count(engine, eventos) == 8 + 15 + 1
