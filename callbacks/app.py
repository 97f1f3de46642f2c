"""The receiver: link confirmation pages, the code form and delivery webhooks (FastAPI).

Every POST becomes an event that is recorded and applied in one transaction
(:func:`reconcile.apply.aplicar`, through :mod:`callbacks.group_commit`, which batches the
events of concurrent requests), so the person sees the outcome at once and a crash leaves nothing
half done. A GET never changes anything (mail scanners open links before people do) and reads
through :func:`registry.db.read_connection`, so it never waits for a writer. Hardening: limits
(:mod:`callbacks.throttle`), bounded bodies and security headers (:mod:`callbacks.middleware`),
timestamped webhook signatures (:mod:`callbacks.signature`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import secrets
from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from buzon.errors import EventFileError, ReceiverConfigError
from buzon.settings import Settings
from callbacks import csrf, signature
from callbacks.group_commit import GroupCommit, StoreBusy
from callbacks.middleware import SECURITY_HEADERS, BodyLimit, SecurityHeaders
from callbacks.reenvio import RUTA as RUTA_REENVIO
from callbacks.reenvio import add_resend_route
from callbacks.throttle import Throttle, TooManyRequests
from delivery.secrets import load_key, token_digest, verify_code
from reconcile.events import CAMPOS
from registry.clock import utc
from registry.db import get_engine, read_connection
from registry.tables import medios
from registry.ventanas import antes_del

log = logging.getLogger(__name__)

FIRMA_HEADER = signature.SIGNATURE_HEADER
TIMESTAMP_HEADER = signature.TIMESTAMP_HEADER
# One answer for every pair that is not being validated with this very code: a wrong code, an
# unknown pair, and a validated, exhausted or expired one look alike (nothing to harvest).
_GENERICO = (
    "El código no es correcto o los datos no corresponden a un celular en validación. "
    "Tras 5 intentos fallidos el código deja de valer: solicita «Reenviar código de verificación»."
)
_CODIGO = re.compile(r"[0-9]{5}", re.ASCII)  # only ASCII digits are a code
_MENSAJES_CORREO = {
    "validado": ("Correo validado", "ok", "La validación de tu correo electrónico fue exitosa."),
    "ya_validado": ("Correo ya validado", "ok", "Este correo electrónico ya estaba validado."),
    "vencido": (
        "Enlace vencido",
        "aviso",
        "El plazo de 72 horas para validar este correo electrónico venció y su registro se"
        " canceló. Para usarlo como medio de contacto del Buzón IMSS debe registrarse de nuevo;"
        " con el nuevo registro llegará otro enlace.",
    ),
}
# The next step after a validation, in the guide's words.
_SIGUIENTE_PASO = (
    "Una vez que concluyas la confirmación de ambos medios de contacto (correo electrónico y"
    " celular), deberás firmar los Términos y Condiciones con tu e.firma para activar tu"
    " Buzón IMSS."
)
_DESCONOCIDO = (
    "Enlace desconocido",
    "error",
    "Este enlace no es válido o ya no está vigente. Revisa el correo más reciente que recibiste.",
)


def enmascarar(correo: str) -> str:
    """Show enough of an address to recognise it, not enough to harvest it.

    >>> enmascarar("ana.perez@empresa.com.mx"), enmascarar("a@b.mx")
    ('a*******z@empresa.com.mx', 'a*@b.mx')
    """
    local, _, dominio = correo.partition("@")
    if len(local) <= 2:
        return f"{local[:1]}*@{dominio}"
    return f"{local[0]}{'*' * (len(local) - 2)}{local[-1]}@{dominio}"


def _evento(**campos: Any) -> dict[str, str | None]:
    """One event as the text fields of an event file line (validated in its batch)."""
    return {c: (None if campos.get(c) is None else str(campos[c])) for c in CAMPOS}


def _webhook_secret(settings: Settings) -> bytes | None:
    if settings.webhook_secret is None:
        return None
    secret = settings.webhook_secret.get_secret_value().encode()
    if len(secret) < signature.MIN_SECRET_BYTES:
        raise ReceiverConfigError(
            f"BUZON_WEBHOOK_SECRET es demasiado corto ({len(secret)} bytes): use al menos "
            f"{signature.MIN_SECRET_BYTES} bytes aleatorios (p. ej. «openssl rand -hex 32»)"
        )
    return secret


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for ``settings`` (one engine, one HMAC key, read once).

    Refuses to start (:class:`ReceiverConfigError`) with a webhook secret under 32 bytes, a limit
    it cannot parse, a bad proxy list or an unusable limiter storage.
    """
    webhook_secret = _webhook_secret(settings)
    engine = get_engine(settings)
    key = load_key(settings)
    throttle = Throttle(settings, key)
    env = Environment(
        loader=PackageLoader("callbacks", "templates"), autoescape=select_autoescape(["html"])
    )
    app = FastAPI(title="Buzón IMSS masivo", docs_url=None, redoc_url=None, openapi_url=None)
    # Added last = outermost: the headers also reach the body limit's 413.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, https=settings.public_url.startswith("https://"))
    app.state.throttle = throttle  # for routes added elsewhere: Depends(app.state.throttle.codes)

    def page(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(name).render(**ctx)
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(TooManyRequests)
    async def _throttled(request: Request, exc: TooManyRequests) -> Response:
        headers = {"Retry-After": str(exc.retry_after)}
        if request.url.path.startswith("/webhooks/"):
            return JSONResponse({"error": "demasiadas solicitudes"}, 429, headers=headers)
        minutos = math.ceil(exc.retry_after / 60)
        mensaje = (
            "Recibimos demasiados intentos desde tu conexión o para estos datos. Espera "
            f"{minutos} minuto{'s' if minutos != 1 else ''} y vuelve a intentarlo."
        )
        r = resultado(("Demasiados intentos", "error", mensaje), 429)
        r.headers.update(headers)
        return r

    @app.exception_handler(StoreBusy)
    async def _busy(request: Request, exc: StoreBusy) -> Response:
        # Nothing was recorded: the client must send it again (gateways retry on 503).
        headers = {"Retry-After": "30"}
        if request.url.path.startswith("/webhooks/"):
            return JSONResponse({"error": "ocupado; reintente"}, 503, headers=headers)
        mensaje = (
            "Estamos procesando otra operación y tu solicitud no se registró. "
            "Vuelve a enviarla en un minuto."
        )
        r = resultado(("Servicio ocupado", "aviso", mensaje), 503)
        r.headers.update(headers)
        return r

    @app.exception_handler(Exception)
    async def _error(request: Request, exc: Exception) -> Response:
        # ServerErrorMiddleware sends this outside the other middleware: set the headers here.
        log.error("error interno en %s", request.url.path, exc_info=exc)
        r = resultado(
            ("Error interno", "error", "Ocurrió un error; inténtalo de nuevo más tarde."), 500
        )
        r.headers.update(SECURITY_HEADERS)
        return r

    def resultado(t: tuple[str, str, str], status: int = 200, detalle: str = "") -> HTMLResponse:
        return page(
            "resultado.html", status, titulo=t[0], clase=t[1], mensaje=t[2], detalle=detalle
        )

    commits = GroupCommit(engine, settings, key)

    def registrar(ev: dict[str, str | None], origen: str, contenido: bool = False) -> dict:
        """Record and apply one request's event; returns its outcome once committed.

        Raises :class:`EventFileError` for an event that breaks the event rules.
        """
        # A web request is its own event (two equal submissions are two attempts); a webhook is
        # identified by its content (a gateway retry is one event).
        h = None if contenido else hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        return commits.apply(ev, origen, h)

    @app.get("/v/{token}", response_class=HTMLResponse)
    def ver_enlace(token: str) -> HTMLResponse:
        now = utc(settings.clock())
        with read_connection(engine) as conn:  # never waits for a writer
            row = conn.execute(
                select(medios.c.rfc, medios.c.valor, medios.c.estado, medios.c.vence_en).where(
                    medios.c.secreto_hash == token_digest(key, token),
                    medios.c.mecanismo == "correo",
                )
            ).first()
        if row is None:
            return resultado(_DESCONOCIDO, 404)
        if row.estado == "validado":
            return resultado(_MENSAJES_CORREO["ya_validado"])
        vence = row.vence_en and utc(row.vence_en)
        if row.estado == "vencido" or (row.estado == "enviado" and vence and vence < now):
            return resultado(_MENSAJES_CORREO["vencido"])
        if row.estado != "enviado":
            return resultado(_DESCONOCIDO, 404)
        accion = f"/v/{token}"
        return page(
            "confirmar.html",
            titulo="Validación de correo electrónico",
            rfc=row.rfc,
            correo=enmascarar(row.valor),
            plazo=antes_del(vence) if vence else "",
            accion=accion,
            csrf=csrf.emitir(key, accion, now),
        )

    @app.post("/v/{token}", response_class=HTMLResponse, dependencies=[Depends(throttle.links)])
    def confirmar(token: str, csrf_token: str = Form("", alias="csrf")) -> HTMLResponse:
        now = utc(settings.clock())
        if not csrf.verificar(key, f"/v/{token}", csrf_token, now):
            return resultado(
                ("Solicitud no válida", "error", "La página caducó; abre de nuevo el enlace."), 403
            )
        if len(token) > 200:
            return resultado(_DESCONOCIDO, 404)
        try:
            r = registrar(
                _evento(tipo="confirmacion_correo", token=token, fecha=now.isoformat()), "web"
            )
        except EventFileError:
            return resultado(_DESCONOCIDO, 404)
        msg = _MENSAJES_CORREO.get(r["resultado"])
        if msg is None:
            return resultado(_DESCONOCIDO, 404)
        detalle = (
            "Recibirás otro correo confirmando la conclusión de la validación. " + _SIGUIENTE_PASO
            if r["resultado"] == "validado"
            else ""
        )
        return resultado(msg, detalle=detalle)

    def form(status: int = 200, **ctx: Any) -> HTMLResponse:
        now = utc(settings.clock())
        ctx.setdefault("rfc", "")
        ctx.setdefault("telefono", "")
        return page(
            "celular.html",
            status,
            titulo="Validación de Celular",
            csrf=csrf.emitir(key, "/celular", now),
            csrf_reenvio=csrf.emitir(key, RUTA_REENVIO, now),
            **ctx,
        )

    @app.get("/celular", response_class=HTMLResponse)
    def celular() -> HTMLResponse:
        return form()

    def codigo_correcto(medio_id: int | None, codigo: str) -> bool:
        """Whether ``codigo`` is the live code of ``medio_id`` (a read; never waits)."""
        if medio_id is None:
            return False
        with read_connection(engine) as conn:
            digest = conn.execute(
                select(medios.c.secreto_hash).where(medios.c.id == medio_id)
            ).scalar_one_or_none()
        return verify_code(key, medio_id, codigo, digest)

    @app.post("/celular", response_class=HTMLResponse, dependencies=[Depends(throttle.codes)])
    def celular_post(
        rfc: str = Form(""),
        telefono: str = Form(""),
        codigo: str = Form(""),
        csrf_token: str = Form("", alias="csrf"),
    ) -> HTMLResponse:
        now = utc(settings.clock())
        rfc, telefono, codigo = rfc.strip().upper()[:13], telefono.strip()[:10], codigo.strip()
        if not csrf.verificar(key, "/celular", csrf_token, now):
            return form(
                403,
                clase="error",
                mensaje="La página caducó; inténtalo de nuevo.",
                rfc=rfc,
                telefono=telefono,
            )
        revisa = "Revisa los datos: RFC válido, celular de 10 dígitos, código de 5 dígitos."
        if not _CODIGO.fullmatch(codigo):
            return form(400, clase="error", mensaje=revisa, rfc=rfc, telefono=telefono)
        ev = _evento(
            tipo="codigo_sms", rfc=rfc, telefono=telefono, codigo=codigo, fecha=now.isoformat()
        )
        try:
            r = registrar(ev, "web")
        except EventFileError:
            return form(400, clase="error", mensaje=revisa, rfc=rfc, telefono=telefono)
        res = r["resultado"]
        if res == "validado":
            return resultado(
                ("Celular validado", "ok", "La validación del número celular fue exitosa."),
                detalle="Recibirás un SMS de confirmación. " + _SIGUIENTE_PASO,
            )
        # Past this point only the owner of the right code learns the pair's state.
        if res in ("ya_validado", "vencido") and codigo_correcto(r.get("medio_id"), codigo):
            if res == "ya_validado":
                return resultado(
                    ("Celular ya validado", "ok", "Este número celular ya estaba validado.")
                )
            msg = (
                "El código venció: pasaron más de 72 horas desde el envío del SMS y el registro"
                " se canceló. El celular debe registrarse de nuevo como medio de contacto."
            )
            return form(clase="aviso", mensaje=msg, rfc=rfc, telefono=telefono)
        return form(clase="error", mensaje=_GENERICO, rfc=rfc, telefono=telefono)

    add_resend_route(app, settings, engine, key, form)  # «Reenviar código de verificación»

    @app.post("/webhooks/entregas")
    async def webhook(request: Request) -> JSONResponse:
        # BodyLimit has already refused a body over BUZON_MAX_BODY_BYTES (413) unread.
        body = await request.body()
        if webhook_secret is None:
            log.warning("webhook rechazado: BUZON_WEBHOOK_SECRET no está configurado")
            return JSONResponse({"error": "firma inválida"}, status_code=401)
        ok = signature.verify(
            webhook_secret,
            request.headers.get(TIMESTAMP_HEADER, ""),
            request.headers.get(FIRMA_HEADER, ""),
            body,
            utc(settings.clock()),
            settings.webhook_window_seconds,
        )
        if not ok:
            return JSONResponse({"error": "firma inválida o fuera de tiempo"}, status_code=401)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            return JSONResponse({"error": "JSON inválido"}, status_code=400)
        if not isinstance(data.get("at"), str) or not data["at"].strip():
            return JSONResponse({"error": "falta «at» (ISO 8601)"}, status_code=422)
        motivo = data.get("reason")
        ev = _evento(
            tipo="entrega",
            referencia=data.get("reference"),
            estado=data.get("status"),
            motivo=None if motivo is None else str(motivo)[: settings.webhook_reason_chars],
            fecha=data["at"],
        )
        try:
            r = await run_in_threadpool(registrar, ev, "webhook", True)
        except EventFileError as exc:
            return JSONResponse({"error": exc.message}, status_code=422)
        return JSONResponse({"resultado": r["resultado"]})

    return app
