"""Simulated recipients for the demo: people who open their spooled messages and validate.

Reads the spool (``$BUZON_HOME/spool/email/*.eml`` and ``spool/sms.jsonl``), starts the receiver on
a free loopback port, and drives it over HTTP as a person would: open the link (GET), click
"Confirmar" (POST with the page's CSRF token); type the SMS code in "Validación de Celular", one
wrong code first. Nothing here touches the store directly except to look up the RFC a person
would know by heart.
"""

from __future__ import annotations

import email
import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy

import httpx

from buzon.settings import Settings
from schemas import telefono as telefono_mod

_LINK = re.compile(r"/v/([A-Za-z0-9_\-]{16,200})")
_CODE = re.compile(r"c[oó]digo de verificaci[oó]n es:? (\d{5})", re.IGNORECASE)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@contextmanager
def receptor(settings: Settings) -> Iterator[str]:
    """The receiver under uvicorn in a thread on a free loopback port; yields its base URL."""
    import uvicorn

    from callbacks.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), log_level="warning", lifespan="off", proxy_headers=False
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    while not server.started and thread.is_alive():
        started.wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def enlaces(settings: Settings) -> list[str]:
    """Link tokens of the spooled verification emails, oldest send first."""
    tokens = []
    files = sorted(
        (settings.spool_dir / "email").glob("outbox-*.eml"),
        key=lambda p: int(p.stem.split("-")[1]),
    )
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        found = _LINK.search(body.get_content() if body else "")
        if found:
            tokens.append(found.group(1))
    return tokens


def codigos(settings: Settings) -> list[tuple[int, str, str]]:
    """``(outbox id, telefono, code)`` of the spooled verification SMS (the last per phone)."""
    path = settings.spool_dir / "sms.jsonl"
    if not path.exists():
        return []
    latest: dict[str, tuple[int, str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        found = _CODE.search(rec.get("message", ""))
        if found:
            tel = telefono_mod.compact(rec["to"])  # E.164 -> the 10 digits stored
            latest[tel] = (int(rec["reference"]), tel, found.group(1))
    return sorted(latest.values())


def _rfc_de(settings: Settings, outbox_id: int) -> str | None:
    from sqlalchemy import select

    from registry.db import get_engine
    from registry.tables import medios, outbox

    with get_engine(settings).connect() as conn:
        return conn.execute(
            select(medios.c.rfc)
            .join(outbox, outbox.c.medio_id == medios.c.id)
            .where(outbox.c.id == outbox_id)
        ).scalar_one_or_none()


def _estado(html: str) -> str:
    for needle, name in (
        ("fue exitosa", "validado"),
        ("ya estaba validado", "ya_validado"),
        ("venció", "vencido"),
        ("Se agotaron", "codigo_agotado"),
        ("no es correcto", "codigo_incorrecto"),
    ):
        if needle in html:
            return name
    return "desconocido"


def simular(settings: Settings, *, correos: int = 3, celulares: int = 3) -> dict:
    """Have ``correos`` email recipients click and ``celulares`` phone owners type their code."""
    out: dict = {"correos": [], "celulares": []}
    with receptor(settings) as base, httpx.Client(base_url=base, timeout=30) as http:
        for token in enlaces(settings)[:correos]:
            page = http.get(f"/v/{token}")
            csrf = _CSRF.search(page.text)
            if not csrf:
                out["correos"].append({"resultado": _estado(page.text)})
                continue
            r = http.post(f"/v/{token}", data={"csrf": csrf.group(1)})
            out["correos"].append({"resultado": _estado(r.text)})
        for outbox_id, tel, code in codigos(settings)[:celulares]:
            rfc = _rfc_de(settings, outbox_id) or ""
            intentos = []
            wrong = f"{(int(code) + 1) % 100000:05d}"
            for typed in (wrong, code):
                form = http.get("/celular")
                data = {
                    "rfc": rfc,
                    "telefono": tel,
                    "codigo": typed,
                    "csrf": _CSRF.search(form.text).group(1),
                }
                intentos.append(_estado(http.post("/celular", data=data).text))
            out["celulares"].append({"telefono": f"******{tel[-4:]}", "intentos": intentos})
    out["validados"] = sum(c["resultado"] == "validado" for c in out["correos"]) + sum(
        c["intentos"][-1] == "validado" for c in out["celulares"]
    )
    return out


def main() -> None:  # pragma: no cover - demo entry point
    """``python -m callbacks.simulate``: print the summary as JSON."""
    print(json.dumps(simular(Settings()), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
