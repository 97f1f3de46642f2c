"""Key handling, codes and tokens; and no secret in the database or the logs."""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
from collections import Counter

import pytest
from delivery_helpers import add_media, dump_tables, sms_settings, smtp_settings
from pydantic import SecretStr

from buzon.errors import ConfigError
from delivery import secrets as sec
from delivery.dispatcher import dispatch


def test_key_file_is_made_once_with_mode_0600_even_under_a_race(settings):
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(sec.load_key(settings))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    path = settings.keys_dir / sec.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in settings.keys_dir.iterdir()] == [sec.KEY_FILE]  # no temp left
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        sec.load_key(settings)


def test_key_from_settings(settings):
    s = settings.model_copy(update={"secret_key": SecretStr("k" * 40)})
    assert sec.load_key(s) == b"k" * 40
    with pytest.raises(ConfigError):
        sec.load_key(settings.model_copy(update={"secret_key": SecretStr("corta")}))


def test_codes_and_tokens():
    key = b"x" * 32
    nonce = sec.new_nonce()
    assert len(nonce) >= 22 and sec.new_nonce() != nonce
    code = sec.code_for(key, nonce)
    assert re.fullmatch(r"\d{5}", code) and sec.code_for(key, nonce) == code  # stable per send
    assert sec.code_for(b"y" * 32, nonce) != code or sec.code_for(b"z" * 32, nonce) != code
    token = sec.token_for(key, nonce)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 192 bits
    # Digests are keyed and domain-separated; the code digest is bound to the medium.
    assert sec.code_digest(key, 1, code) != sec.code_digest(key, 2, code)
    assert sec.token_digest(key, code) != sec.code_digest(key, 1, code)
    assert sec.verify_code(key, 1, f" {code} ", sec.code_digest(key, 1, code))
    assert not sec.verify_code(key, 1, code, None)
    # Roughly uniform: every leading digit shows up over a few thousand sends.
    leading = Counter(sec.code_for(key, sec.new_nonce())[0] for _ in range(3000))
    assert set(leading) == set("0123456789") and min(leading.values()) > 200


def test_no_code_or_token_in_the_database_or_logs(
    db_settings, smtp_server, gateway, caplog, monkeypatch
):
    settings = sms_settings(smtp_settings(db_settings, smtp_server), gateway)
    add_media(
        settings,
        [("correo", f"c{i}@ejemplo.mx") for i in range(4)]
        + [("telefono", f"551000000{i}") for i in range(4)],
    )
    caplog.set_level(logging.DEBUG)
    gateway.script = {"+525510000003": [500]}
    dispatch(settings)
    secrets = [
        re.search(r"/v/([A-Za-z0-9_-]+)", r.part("html")).group(1)
        for r in smtp_server.handler.received
    ]
    secrets += [re.search(r"\b(\d{5})\b", r.body["message"]).group(1) for r in gateway.requests]
    assert len(secrets) == 8  # the 500 answer still carried a code
    dump = dump_tables(settings)
    # Everything our process logged at DEBUG (the SMS transport's included), minus the test SMTP
    # server's own transcript ("mail.log"), which plays the recipient's side.
    logs = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r}"
        for r in caplog.records
        if not r.name.startswith("mail.log")
    )
    assert "delivery.transports.http" in logs and "delivery.dispatcher" in logs
    for value in secrets:
        pattern = rf"(?<![0-9A-Za-z_-]){re.escape(value)}(?![0-9A-Za-z_-])"
        assert not re.search(pattern, dump), value
        assert not re.search(pattern, logs), value
    assert "token-de-prueba-123" not in dump + logs
