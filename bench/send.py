"""Benchmark `buzon send`: 20,000 emails to a local aiosmtpd and 20,000 SMS to a local gateway.

Both servers run in their own processes (as real ones would). Measured in the same run:
- the dispatcher on SQLite (claim, render, send, record each acceptance) for email and for SMS;
- the baseline: a bare smtplib loop over one connection sending the same, pre-rendered messages,
  alternating with the dispatcher in ``--rounds`` turns so both see the same machine load.
Targets: email >= 0.7x the bare loop, SMS >= 500/s.

    .venv/bin/python bench/send.py [--n 20000] [--connections 1] [--rounds 4]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from buzon.settings import Settings  # noqa: E402
from delivery.dispatcher import dispatch  # noqa: E402
from delivery.render import email_bytes, render  # noqa: E402
from registry.db import get_engine  # noqa: E402
from registry.tables import medios, outbox, particulares  # noqa: E402
from registry.ventanas import antes_del  # noqa: E402

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)

SMTP_SERVER = """
import asyncio, sys
from aiosmtpd.controller import Controller
class H:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""

SMS_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"id": 1}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer.request_queue_size = 128  # socketserver's 5 resets bursts of connects
s = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
s.daemon_threads = True
print("ready", flush=True)
s.serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(code: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def populate(settings: Settings, n: int, mecanismo: str, offset: int) -> None:
    engine = get_engine(settings)
    rows = range(offset, offset + n)
    with engine.begin() as conn:
        conn.execute(
            insert(particulares),
            [{"rfc": f"B{i:011d}", "nombre": f"Empresa {i}", "creado_en": NOW} for i in rows],
        )
        conn.execute(
            insert(medios),
            [
                {
                    "id": i + 1,
                    "rfc": f"B{i:011d}",
                    "mecanismo": mecanismo,
                    "valor": f"persona{i}@ejemplo.mx" if mecanismo == "correo" else f"55{i:08d}",
                    "estado": "registrado",
                    "folio": f"BI-20250303-{i:09d}",
                    "creado_en": NOW,
                    "actualizado_en": NOW,
                }
                for i in rows
            ],
        )
        conn.execute(
            insert(outbox),
            [
                {
                    "medio_id": i + 1,
                    "tipo": "verificacion",
                    "canal": "correo" if mecanismo == "correo" else "sms",
                    "destino": f"persona{i}@ejemplo.mx" if mecanismo == "correo" else f"55{i:08d}",
                    "proximo_intento": NOW,
                    "creado_en": NOW,
                }
                for i in rows
            ],
        )


def bare_messages(settings: Settings, n: int) -> list[tuple[str, bytes]]:
    """The baseline's messages, rendered beforehand (its timing covers sending only)."""
    messages = []
    for i in range(n):
        msg = render(
            outbox_id=i + 1,
            tipo="verificacion",
            canal="correo",
            destino=f"persona{i}@ejemplo.mx",
            context={
                "rfc": f"B{i:011d}",
                "nombre": f"Empresa {i}",
                "folio": "BI-20250303-0",
                "medio": "x",
                "horas": 72,
                "token": "T" * 32,
                "codigo": None,
                # What the dispatcher now adds: the deadline and the RPs the address covers.
                "plazo": antes_del(NOW + timedelta(hours=72)),
                "rps": [],
                "aclaraciones": settings.aclaraciones,
            },
            public_url=settings.public_url,
            email_from=settings.email_from,
        )
        messages.append((msg.to, email_bytes(msg, settings.email_from, NOW)))
    return messages


def bare_loop(messages: list[tuple[str, bytes]], port: int) -> tuple[float, float]:
    """The floor: a bare smtplib loop over one connection; returns (wall, CPU) seconds."""
    start_t, start_cpu = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for to, data in messages:
            conn.sendmail("no-responder@buzon.local", [to], data)
    return time.perf_counter() - start_t, time.process_time() - start_cpu


def timed_dispatch(settings: Settings, limit: int) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    stats = dispatch(settings, limit=limit)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    assert stats.sent == limit, stats
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--sms-concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4, help="email: baseline/dispatcher turns")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]

    smtp_port, sms_port = free_port(), free_port()
    smtp_proc = start(SMTP_SERVER, smtp_port)
    sms_proc = start(SMS_SERVER, sms_port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                home=Path(tmp),
                now=NOW,
                email_transport="smtp",
                smtp_port=smtp_port,
                smtp_connections=args.connections,
                sms_transport="http",
                sms_url=f"http://127.0.0.1:{sms_port}/sms",
                sms_token="bench-token",
                sms_concurrency=args.sms_concurrency,
            )
            # Email: baseline and dispatcher alternate in rounds, so that both see the same
            # machine load (other processes' load drifts within minutes and skews the ratio).
            populate(settings, args.n, "correo", 0)
            messages = bare_messages(settings, args.n)
            size = -(-args.n // args.rounds)
            bare = bare_cpu = email_s = email_cpu = 0.0
            ratios = []
            for start_at in range(0, args.n, size):
                part = messages[start_at : start_at + size]
                b_wall, b_cpu = bare_loop(part, smtp_port)
                d_wall, d_cpu = timed_dispatch(settings, len(part))
                bare, bare_cpu = bare + b_wall, bare_cpu + b_cpu
                email_s, email_cpu = email_s + d_wall, email_cpu + d_cpu
                ratios.append(b_wall / d_wall)

            populate(settings, args.n, "telefono", args.n)
            sms_s, sms_cpu = timed_dispatch(settings, args.n)
    finally:
        smtp_proc.communicate("", timeout=30)
        sms_proc.terminate()
        sms_proc.wait()

    n = args.n
    load = os.getloadavg()[0]
    print(
        f"load average {load_start:.1f} at the start, {load:.1f} at the end, on "
        f"{os.cpu_count()} CPUs (other work skews rates)"
    )
    print(
        f"bare smtplib loop (1 connection): {n / bare:8.0f} emails/s  ({bare:.2f} s)  "
        f"client CPU {bare_cpu / n * 1e6:.0f} us/msg"
    )
    print(
        f"dispatcher email ({args.connections} conn): {n / email_s:8.0f} emails/s  "
        f"({email_s:.2f} s)  ratio {bare / email_s:.2f}x (target >= 0.7x; rounds "
        f"{' '.join(f'{r:.2f}' for r in ratios)}); client CPU {email_cpu / n * 1e6:.0f} us/msg"
    )
    print(
        f"dispatcher SMS ({args.sms_concurrency} workers):  {n / sms_s:8.0f} SMS/s     "
        f"({sms_s:.2f} s)  (target >= 500/s); client CPU {sms_cpu / n * 1e6:.0f} us/msg"
    )


if __name__ == "__main__":
    main()
