"""Delivery test helpers: a real aiosmtpd server, a real local SMS gateway, media to send to."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert

from buzon.settings import Settings
from registry import outbox as outbox_mod
from registry.db import get_engine
from registry.tables import medios, particulares

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP -----------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    msg: email.message.EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.msg["Message-ID"])

    def part(self, subtype: str) -> str:
        return self.msg.get_body((subtype,)).get_content()


@dataclass
class SmtpHandler:
    received: list[Received] = field(default_factory=list)
    # recipient -> replies to give at RCPT, consumed in order ("250" = accept)
    rcpt_script: dict[str, list[str]] = field(default_factory=dict)
    drop_every: int = 0  # close the connection after every Nth accepted message
    hold_at: int = 0  # block before answering the Nth message (crash test)
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    connections: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: ANN001, ANN201
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201
        script = self.rcpt_script.get(address)
        if script:
            reply = script.pop(0)
            if not reply.startswith("250"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, msg))
        n = len(self.received)
        if self.hold_at and n == self.hold_at:
            self.reached.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        if self.drop_every and n % self.drop_every == 0:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 2.0.0 Aceptado"

    def by_id(self) -> dict[str, list[Received]]:
        out: dict[str, list[Received]] = {}
        for r in self.received:
            out.setdefault(r.message_id, []).append(r)
        return out


@dataclass
class SmtpServer:
    handler: SmtpHandler
    port: int


def kill_at(server: SmtpServer, n: int, cmd: list[str], env: dict[str, str]) -> str:
    """Run ``cmd``, kill -9 it once the ``n``-th message reaches ``server``; that message's id."""
    server.handler.hold_at = n
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.handler.reached.wait(60), proc.stderr.read() if proc.poll() else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        server.handler.release.set()
    return server.handler.received[n - 1].message_id


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(handler, port)
    finally:
        handler.release.set()
        controller.stop()


# --- SMS gateway ----------------------------------------------------------------------------


@dataclass
class GatewayRequest:
    headers: dict[str, str]
    body: dict


class Gateway:
    """A local SMS gateway: records every request; answers from a per-recipient script."""

    def __init__(self) -> None:
        self.requests: list[GatewayRequest] = []
        self.script: dict[str, list[int]] = {}  # "+52..." -> statuses, consumed in order
        # Close each kept-alive connection after its response without announcing it (as a
        # gateway's idle timeout does): the client's next request on it finds it dead.
        self.silent_close = False
        self.connections = 0
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def setup(self) -> None:
                super().setup()
                with gateway.lock:
                    gateway.connections += 1

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with gateway.lock:
                    gateway.requests.append(GatewayRequest(dict(self.headers.items()), body))
                    script = gateway.script.get(body.get("to"))
                    status = script.pop(0) if script else 200
                reply = {200: {"id": len(gateway.requests)}}.get(
                    status, {"reason": f"respuesta de prueba {status}: número no válido"}
                )
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "120")
                self.end_headers()
                self.wfile.write(data)
                if gateway.silent_close:
                    self.close_connection = True

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # socketserver's 5 resets bursts of connects under load

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    try:
        yield gw
    finally:
        gw.close()


# --- Store contents -------------------------------------------------------------------------


@dataclass
class Medio:
    id: int
    rfc: str
    mecanismo: str
    valor: str
    folio: str


def add_media(
    settings: Settings, specs: list[tuple[str, str]], *, now: datetime = NOW, rfc: str | None = None
) -> list[Medio]:
    """Registered media (``registrado``) with their verification outbox rows.

    ``specs`` are ``(mecanismo, valor)``; each gets its own RFC unless ``rfc`` is given.
    """
    engine = get_engine(settings)
    out: list[Medio] = []
    with engine.begin() as conn:
        start = conn.exec_driver_sql("SELECT COUNT(*) FROM medios").scalar_one()
        for i, (mecanismo, valor) in enumerate(specs, start=start):
            this_rfc = rfc or f"AAA{i % 1000000:06d}XY{i % 10}"[:12]
            conn.execute(
                _insert_ignore(conn),
                {"rfc": this_rfc, "nombre": f"Empresa {i} & Hijos", "creado_en": now},
            )
            folio = f"BI-20250303-{i:09d}"
            mid = conn.execute(
                insert(medios).values(
                    rfc=this_rfc,
                    mecanismo=mecanismo,
                    valor=valor,
                    estado="registrado",
                    folio=folio,
                    creado_en=now,
                    actualizado_en=now,
                )
            ).inserted_primary_key[0]
            out.append(Medio(mid, this_rfc, mecanismo, valor, folio))
        outbox_mod.queue(
            conn,
            [
                {
                    "medio_id": m.id,
                    "tipo": "verificacion",
                    "mecanismo": m.mecanismo,
                    "valor": m.valor,
                }
                for m in out
            ],
            now=now,
        )
    return out


def _insert_ignore(conn):  # noqa: ANN001, ANN202
    from registry.sql import insert as dialect_insert

    return dialect_insert(conn, particulares).on_conflict_do_nothing()


def dump_tables(settings: Settings) -> str:
    """Every row of every table as text: what a stolen database would reveal."""
    from registry.tables import metadata

    engine = get_engine(settings)
    parts = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(table.select()):
                parts.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(parts)


def smtp_settings(base: Settings, server: SmtpServer, **extra) -> Settings:  # noqa: ANN003
    return base.model_copy(
        update={
            "email_transport": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": server.port,
            "smtp_timeout": 10.0,
            "now": NOW,
            **extra,
        }
    )


def sms_settings(base: Settings, gw: Gateway, **extra) -> Settings:  # noqa: ANN003
    from pydantic import SecretStr

    return base.model_copy(
        update={
            "sms_transport": "http",
            "sms_url": gw.url,
            "sms_token": SecretStr("token-de-prueba-123"),
            "now": NOW,
            **extra,
        }
    )


@pytest.fixture
def spool_home(home: Path) -> Path:
    return home / "spool"
