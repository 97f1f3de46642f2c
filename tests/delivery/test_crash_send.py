"""kill -9 of `buzon send` mid-batch and a re-run: all delivered, only the in-flight one twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from delivery_helpers import add_media, kill_at, smtp_settings
from sqlalchemy import select

from registry.db import dispose_all, get_engine
from registry.tables import outbox


def _env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    env.update(
        BUZON_HOME=str(home),
        BUZON_EMAIL_TRANSPORT="smtp",
        BUZON_SMTP_HOST="127.0.0.1",
        BUZON_SMTP_PORT=str(port),
        BUZON_SMTP_CONNECTIONS="1",
        BUZON_CHUNK_SIZE="4",
        BUZON_NOW="2025-03-03T15:00:00Z",
    )
    return env


def test_kill_mid_batch_then_rerun_sends_each_message_once_but_the_in_flight_one(
    settings, smtp_server
):
    s = smtp_settings(settings, smtp_server)
    add_media(s, [("correo", f"p{i}@ejemplo.mx") for i in range(15)])
    dispose_all()
    cmd = [sys.executable, "-m", "buzon", "send", "--json"]
    env = _env(settings.home, smtp_server.port)

    in_flight = kill_at(smtp_server, 7, cmd, env)  # the 7th message reaches the server
    with get_engine(settings).connect() as conn:
        states = conn.execute(select(outbox.c.estado)).scalars().all()
    assert states.count("enviado") == 6 and states.count("pendiente") == 9

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"sent": 9' in done.stdout and '"pending": 0' in done.stdout

    counts = {k: len(v) for k, v in smtp_server.handler.by_id().items()}
    assert len(counts) == 15  # every message delivered at least once
    assert [k for k, n in counts.items() if n > 1] == [in_flight]  # only the in-flight one twice
    assert counts[in_flight] == 2
    first, second = smtp_server.handler.by_id()[in_flight]
    assert first.part("html") == second.part("html")  # same link: same nonce, same token
    with get_engine(settings).connect() as conn:
        assert set(conn.execute(select(outbox.c.estado)).scalars()) == {"enviado"}
