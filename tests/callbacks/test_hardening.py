"""The receiver under attack: limits, bounded bodies, signed webhooks, answers that leak nothing,
security headers on every response. A real uvicorn server per test, driven over HTTP."""

from __future__ import annotations

import json
import re
import secrets
import socket
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr
from seed import contar as _count
from seed import medio as _medio
from seed import sembrar

from buzon.settings import Settings
from callbacks.middleware import SECURITY_HEADERS
from callbacks.signature import sign
from registry.db import get_engine
from registry.tables import eventos

T0 = datetime(2024, 8, 8, 12, 0, tzinfo=UTC)
RFC = "EKU9003173C9"
REDIS = "redis://127.0.0.1:6379"
SECRETO = "s" * 40


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _addr() -> str:
    """A fresh documentation address per call: shared Redis counts never collide across runs."""
    return f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def _pair() -> tuple[str, str]:
    return f"ABC{secrets.randbelow(10**6):06d}AB1", f"55{secrets.randbelow(10**8):08d}"


def _codigo(http: httpx.Client, token: str, rfc: str, tel: str, ip: str | None = None, **kw):
    headers = {"X-Forwarded-For": ip} if ip else {}
    data = {"rfc": rfc, "telefono": tel, "codigo": kw.pop("codigo", "12345"), "csrf": token}
    return http.post("/celular", data=data, headers=headers)


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("storage", ["memory://", REDIS])
def test_code_attempts_per_address_through_a_trusted_proxy(
    settings: Settings, receptor, storage: str
) -> None:
    if storage.startswith("redis") and not _redis_up():
        pytest.skip("Redis no está en 127.0.0.1:6379")
    s = settings.model_copy(
        update={"rate_limit_storage": storage, "trusted_proxies": "127.0.0.1, ::1"}
    )
    # Two receivers: with Redis they share one count, as several instances behind a balancer.
    bases = [receptor(s), receptor(s) if storage.startswith("redis") else None]
    ip, otra = _addr(), _addr()
    with httpx.Client(base_url=bases[0]) as http:
        token = _csrf(http.get("/celular").text)  # one CSRF token, reused all along
        for i in range(20):
            base = bases[i % 2] or bases[0]
            r = httpx.post(
                f"{base}/celular",
                data={"rfc": _pair()[0], "telefono": _pair()[1], "codigo": "12345", "csrf": token},
                headers={"X-Forwarded-For": ip},
            )
            assert r.status_code == 200 and "no es correcto" in r.text, i
        blocked = _codigo(http, token, *_pair(), ip=f"6.6.6.6, {ip}")  # a forged left entry
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 600
        assert "Demasiados intentos" in blocked.text and "minutos" in blocked.text
        assert _codigo(http, token, *_pair(), ip=otra).status_code == 200  # another person
    if bases[1]:
        again = httpx.post(
            f"{bases[1]}/celular",
            data={"rfc": RFC, "telefono": "5512345678", "codigo": "12345", "csrf": token},
            headers={"X-Forwarded-For": ip},
        )
        assert again.status_code == 429


def test_forwarded_for_is_ignored_unless_the_peer_is_trusted(settings: Settings, receptor) -> None:
    s = settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})
    with httpx.Client(base_url=receptor(s)) as http:
        token = _csrf(http.get("/celular").text)
        codes = [_codigo(http, token, *_pair(), ip=_addr()).status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]  # every request counted against 127.0.0.1


def test_code_attempts_per_pair(settings: Settings, receptor) -> None:
    s = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    rfc, tel = _pair()
    with httpx.Client(base_url=receptor(s)) as http:
        token = _csrf(http.get("/celular").text)
        # Many addresses, one (RFC, phone): the pair's own limit (10) stops them.
        codes = [_codigo(http, token, rfc, tel, ip=_addr()).status_code for _ in range(11)]
        spelled = _codigo(http, token, rfc.lower(), f"{tel[:2]} {tel[2:]}", ip=_addr())
    assert codes == [200] * 10 + [429] and spelled.status_code == 429


def test_link_posts_per_address_and_per_link(settings: Settings, receptor) -> None:
    s = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    ip = _addr()
    with httpx.Client(base_url=receptor(s)) as http:
        # A script without a CSRF token: refused (403) and still counted.
        codes = [
            http.post(
                f"/v/{secrets.token_urlsafe(24)}",
                data={"csrf": "x"},
                headers={"X-Forwarded-For": ip},
            ).status_code
            for _ in range(31)
        ]
        token = secrets.token_urlsafe(24)
        per_link = [
            http.post(
                f"/v/{token}", data={"csrf": "x"}, headers={"X-Forwarded-For": _addr()}
            ).status_code
            for _ in range(11)
        ]
    assert codes == [403] * 30 + [429]
    assert per_link == [403] * 10 + [429]


def test_limits_are_configurable_and_checked_at_start(settings: Settings, receptor) -> None:
    s = settings.model_copy(update={"rate_limit_code_address": "2 per 1 minute"})
    with httpx.Client(base_url=receptor(s)) as http:
        token = _csrf(http.get("/celular").text)
        codes = [_codigo(http, token, *_pair()).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def _serve(tmp_path, env: dict) -> tuple[int, str]:
    from click.testing import CliRunner

    from buzon.cli import cli

    r = CliRunner().invoke(cli, ["serve", "--port", "0"], env={"BUZON_HOME": str(tmp_path), **env})
    return r.exit_code, r.stderr


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"BUZON_WEBHOOK_SECRET": "corto"}, "BUZON_WEBHOOK_SECRET es demasiado corto (5 bytes)"),
        ({"BUZON_RATE_LIMIT_CODE_PAIR": "muchos"}, "BUZON_RATE_LIMIT_CODE_PAIR"),
        ({"BUZON_TRUSTED_PROXIES": "10.0.0.0/8, proxy"}, "BUZON_TRUSTED_PROXIES"),
        ({"BUZON_RATE_LIMIT_STORAGE": "nada://x"}, "BUZON_RATE_LIMIT_STORAGE"),
        ({"BUZON_RATE_LIMIT_STORAGE": "redis://127.0.0.1:1"}, "no responde redis://127.0.0.1:1"),
    ],
)
def test_serve_refuses_a_bad_configuration(tmp_path, env: dict, words: str) -> None:
    code, err = _serve(tmp_path, env)
    assert code == 2 and words in err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


def _webhook(base: str, body: bytes, headers: dict) -> httpx.Response:
    return httpx.post(
        f"{base}/webhooks/entregas",
        content=body,
        headers={"content-type": "application/json", **headers},
    )


def test_webhook_timestamp_window_at_and_reason(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0, "webhook_secret": SecretStr(SECRETO)})
    engine = get_engine(s)
    m = sembrar(engine, s, RFC, correo="a@b.mx")
    base = receptor(s)
    data = {"reference": m.outbox_id, "status": "bounced", "reason": "x" * 10_000}
    body = json.dumps({**data, "at": "2024-08-08T12:05:00Z"}).encode()
    old = sign(SECRETO, body, T0 - timedelta(seconds=301))
    assert _webhook(base, body, old).status_code == 401
    future = sign(SECRETO, body, T0 + timedelta(seconds=301))
    assert _webhook(base, body, future).status_code == 401
    untimed = {"X-Buzon-Firma": sign(SECRETO, body, T0)["X-Buzon-Firma"]}
    assert _webhook(base, body, untimed).status_code == 401
    no_at = json.dumps(data).encode()
    r = _webhook(base, no_at, sign(SECRETO, no_at, T0))
    assert r.status_code == 422 and "at" in r.json()["error"]
    assert _count(engine, eventos) == 0
    # A captured request replayed later than five minutes: refused.
    fresh = sign(SECRETO, body, T0 - timedelta(seconds=299))
    assert _webhook(base, body, fresh).json() == {"resultado": "no_entregado"}
    later = s.model_copy(update={"now": T0 + timedelta(minutes=6)})
    assert _webhook(receptor(later), body, fresh).status_code == 401
    assert _count(engine, eventos) == 1
    assert _medio(engine, m.medio_id).motivo == "x" * 500


def _raw(base: str, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request by hand (the server may stop reading at any point); returns its answer."""
    u = urlsplit(base)
    with socket.create_connection((u.hostname, u.port), timeout=10) as sock:
        sock.sendall(head)
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed: the rest is never read
                break
        data = b""
        while b"\r\n\r\n" not in data:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    return data


def test_body_over_64_kib_is_refused_before_it_is_read(settings: Settings, receptor) -> None:
    s = settings.model_copy(update={"webhook_secret": SecretStr(SECRETO)})
    base = receptor(s)
    host = urlsplit(base).netloc.encode()
    # 200 MiB announced, 1 KiB sent: the answer comes from the header alone.
    head = (
        b"POST /webhooks/entregas HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 209715200\r\n\r\n"
    )
    t = time.perf_counter()
    resp = _raw(base, head, [b"{" * 1024])
    assert resp.startswith(b"HTTP/1.1 413") and time.perf_counter() - t < 5
    assert b"content-security-policy" in resp.lower()
    # Chunked, no length: refused once 64 KiB have arrived, without waiting for the rest.
    head = (
        b"POST /webhooks/entregas HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"4000\r\n" + b"a" * 0x4000 + b"\r\n"  # 16 KiB each
    resp = _raw(base, head, [chunk] * 5)
    assert resp.startswith(b"HTTP/1.1 413")
    # Exactly 64 KiB is accepted as a body (and then refused as unsigned).
    body = b" " * (64 * 1024)
    assert _webhook(base, body, {}).status_code == 401
    assert _webhook(base, body + b" ", {}).status_code == 413
    # Forms too.
    r = httpx.post(f"{base}/celular", data={"rfc": "x" * 70_000})
    assert r.status_code == 413


def test_answers_leak_nothing(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(update={"now": T0})
    engine = get_engine(s)
    validado = sembrar(engine, s, RFC, telefono="5511111111")
    agotado = sembrar(engine, s, RFC, telefono="5522222222")
    vencido = sembrar(engine, s, RFC, telefono="5533333333", enviado_en=T0 - timedelta(hours=73))
    strip = lambda t: re.sub(r'value="[^"]*"', "", t)  # noqa: E731

    def otro(c: str) -> str:
        return f"{(int(c) + 1) % 100000:05d}"

    with httpx.Client(base_url=receptor(s)) as http:
        token = _csrf(http.get("/celular").text)

        def enviar(tel: str, codigo: str, rfc: str = RFC) -> httpx.Response:
            return http.post(
                "/celular", data={"rfc": rfc, "telefono": tel, "codigo": codigo, "csrf": token}
            )

        assert "fue exitosa" in enviar("5511111111", validado.secreto).text
        for _ in range(5):
            enviar("5522222222", otro(agotado.secreto))
        desconocido = enviar("5599999999", "12345", rfc="XYZ010101AB1")
        respuestas = [
            enviar("5511111111", otro(validado.secreto)),
            enviar("5522222222", otro(agotado.secreto)),
            enviar("5522222222", agotado.secreto),  # the right code, after it died
            enviar("5533333333", otro(vencido.secreto)),
        ]
        for r in respuestas:
            assert r.status_code == desconocido.status_code == 200
            assert strip(r.text) == strip(desconocido.text)
        # Whoever holds the right code learns the state.
        assert "ya estaba validado" in enviar("5511111111", validado.secreto).text
        assert "venció" in enviar("5533333333", vencido.secreto).text
        # Only ASCII digits are a code: the right one in other scripts is not accepted.
        vivo = sembrar(engine, s, RFC, telefono="5544444444")
        for digits in ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"):
            typed = "".join(digits[int(c)] for c in vivo.secreto)
            r = enviar("5544444444", typed)
            assert r.status_code == 400 and "Revisa los datos" in r.text
    assert _medio(engine, vivo.medio_id).estado == "enviado"
    assert _medio(engine, vivo.medio_id).intentos_fallidos == 0


@pytest.mark.parametrize(
    "malo", ["²³.abc." + "0" * 40, "9" * 5000 + ".a." + "0" * 40, "1.ñandú." + "0" * 40, "..", "a"]
)
def test_malformed_csrf_is_403(settings: Settings, receptor, malo: str) -> None:
    base = receptor(settings)
    r = httpx.post(f"{base}/celular", data={"rfc": RFC, "telefono": "5512345678", "csrf": malo})
    assert r.status_code == 403 and "caducó" in r.text
    r = httpx.post(f"{base}/v/{'A' * 32}", data={"csrf": malo})
    assert r.status_code == 403


def test_security_headers_on_every_response(db_settings: Settings, receptor) -> None:
    s = db_settings.model_copy(
        update={"now": T0, "webhook_secret": SecretStr(SECRETO), "rate_limit_link_token": "1/hour"}
    )
    base = receptor(s)
    link = "/v/" + "B" * 32
    responses = {
        "page": httpx.get(f"{base}/celular"),
        "404 page": httpx.get(f"{base}/v/{'A' * 32}"),
        "404 route": httpx.get(f"{base}/nada"),
        "405": httpx.get(f"{base}/webhooks/entregas"),
        "403": httpx.post(f"{base}/celular", data={"csrf": "x"}),
        "401 json": httpx.post(f"{base}/webhooks/entregas", content=b"{}"),
        "413": httpx.post(f"{base}/webhooks/entregas", content=b" " * 70_000),
    }
    httpx.post(f"{base}{link}", data={"csrf": "x"})
    responses["429"] = httpx.post(f"{base}{link}", data={"csrf": "x"})
    assert responses["429"].status_code == 429 and "Retry-After" in responses["429"].headers
    # A real fault: the table the link page reads is gone.
    engine = get_engine(s)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE medios RENAME TO medios_fuera")
    try:
        responses["500"] = httpx.get(f"{base}/v/{'A' * 32}")
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE medios_fuera RENAME TO medios")
    assert responses["500"].status_code == 500 and "Error interno" in responses["500"].text
    for name, r in responses.items():
        for header, value in SECURITY_HEADERS.items():
            assert r.headers.get(header) == value, (name, r.status_code, header)
