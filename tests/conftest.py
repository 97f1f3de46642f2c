"""Shared fixtures: an isolated BUZON_HOME per test and the store on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from hypothesis import HealthCheck
from hypothesis import settings as settings_hypothesis
from sqlalchemy import create_engine

from buzon.settings import Settings
from signers.demo import Autoridad

DER = Encoding.DER

PG_URL = os.environ.get("BUZON_TEST_POSTGRES_URL")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # --doctest-modules would import every tests/*/conftest.py as a module named "conftest" and
    # fail on the second one ("import file mismatch"); they are still loaded as conftests.
    return True if collection_path.name == "conftest.py" else None


BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

# Property tests: a seed-pinned, few-second profile by default (CI); BUZON_HYPOTHESIS_PROFILE=largo
# for a long, randomised run. Read here, once, because profiles must exist before tests collect.
settings_hypothesis.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings_hypothesis.register_profile(
    "largo",
    max_examples=400,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings_hypothesis.load_profile(os.environ.get("BUZON_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests build their own settings; the developer's BUZON_* variables must not leak in.
    for key in list(os.environ):
        if key.startswith("BUZON_") and key != "BUZON_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "buzon-home"
    path.mkdir()
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    """Embedded defaults (SQLite, spool transports) under a fresh home."""
    return Settings(home=home)


def _fresh_pg_schema() -> Iterator[str]:
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        from registry.db import dispose_all

        dispose_all()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_settings(request: pytest.FixtureRequest, home: Path) -> Iterator[Settings]:
    """Settings for the store on every backend under test (SQLite; PostgreSQL when configured)."""
    if request.param == "sqlite":
        yield Settings(home=home)
        from registry.db import dispose_all

        dispose_all()
    else:
        for url in _fresh_pg_schema():
            yield Settings(home=home, database_url=url)


# --- a real OCSP responder on loopback (issue 14: e.firma revocation) --------------------------


class OcspResponder:
    """An HTTP OCSP responder (RFC 6960, POST) answering for one CA, built with ``cryptography``.

    ``know(cert)`` makes a certificate answerable (good); ``revoke(cert)`` makes it revoked;
    anything else gets ``unauthorized``. Answers are signed by the CA and current at ``now``.
    """

    def __init__(self, ca: Autoridad, now: datetime) -> None:
        self.ca, self.now = ca, now
        self.known: dict[int, x509.Certificate] = {}
        self.revoked: set[int] = set()
        self.requests = 0
        self.url = ""

    def know(self, cert: x509.Certificate) -> None:
        self.known[cert.serial_number] = cert

    def revoke(self, cert: x509.Certificate) -> None:
        self.know(cert)
        self.revoked.add(cert.serial_number)

    def answer(self, body: bytes) -> bytes:
        self.requests += 1
        req = ocsp.load_der_ocsp_request(body)
        cert = self.known.get(req.serial_number)
        if cert is None:
            unauthorized = ocsp.OCSPResponseStatus.UNAUTHORIZED
            return ocsp.OCSPResponseBuilder.build_unsuccessful(unauthorized).public_bytes(DER)
        revoked = req.serial_number in self.revoked
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert,
            issuer=self.ca.cert,
            algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=self.now - timedelta(minutes=1),
            next_update=self.now + timedelta(days=1),
            revocation_time=self.now - timedelta(days=3) if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.ca.cert)
        return builder.sign(self.ca.key, hashes.SHA256()).public_bytes(DER)


@pytest.fixture
def ocsp_responder() -> Iterator[Callable[[Autoridad, datetime], OcspResponder]]:
    """``start(ca, now)`` -> a running responder at ``responder.url``; stopped after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(ca: Autoridad, now: datetime) -> OcspResponder:
        responder = OcspResponder(ca, now)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                data = responder.answer(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        responder.url = f"http://127.0.0.1:{server.server_address[1]}/ocsp"
        return responder

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/ocsp"
