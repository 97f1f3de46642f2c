"""The embedded default: spool files a person can open, written atomically; `buzon send`."""

from __future__ import annotations

import email
import email.policy
import json

from click.testing import CliRunner
from delivery_helpers import NOW, add_media

from buzon.cli import cli
from delivery.dispatcher import dispatch
from delivery.ratelimit import TokenBucket


def test_spool_files_are_well_formed(db_settings):
    settings = db_settings.model_copy(update={"now": NOW})
    add_media(
        settings,
        [("correo", "a@ejemplo.mx"), ("telefono", "5512345678"), ("correo", "b@ejemplo.mx")],
    )
    assert dispatch(settings).as_json() == {"sent": 3, "retried": 0, "failed": 0, "pending": 0}
    emails = sorted((settings.spool_dir / "email").iterdir())
    assert [p.name for p in emails] == ["outbox-1.eml", "outbox-3.eml"]
    for path in emails:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert msg["Message-ID"] == f"<{path.stem}@buzon.local>"
        assert "/v/" in msg.get_body(("html",)).get_content()
    lines = (settings.spool_dir / "sms.jsonl").read_text().splitlines()
    (sms,) = [json.loads(line) for line in lines]
    assert sms["to"] == "+525512345678" and sms["reference"] == 2
    assert len(sms["message"]) <= 160


def test_send_command_json_and_progress(settings, monkeypatch):
    add_media(settings, [("correo", f"x{i}@ejemplo.mx") for i in range(3)])
    monkeypatch.setenv("BUZON_HOME", str(settings.home))
    monkeypatch.setenv("BUZON_CHUNK_SIZE", "2")
    result = CliRunner().invoke(cli, ["send", "--json", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"sent": 2, "retried": 0, "failed": 0, "pending": 1}
    assert "envío: 2 procesados" in result.stderr
    result = CliRunner().invoke(cli, ["send"])
    assert result.exit_code == 0 and "enviados: 1" in result.stdout


def test_token_bucket_paces_sends():
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    bucket = TokenBucket(10, burst=2, monotonic=lambda: clock[0], sleep=sleep)
    for _ in range(6):
        bucket.acquire()
    assert abs(clock[0] - 100.4) < 1e-9  # 2 at once, then one every 0.1 s
    assert TokenBucket(0).acquire() == 0.0
