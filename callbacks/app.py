"""The receiver: link confirmation pages, the code form and delivery webhooks (FastAPI).

Every POST becomes an event that is recorded and applied in one transaction
(:func:`reconcile.apply.aplicar`), so the person sees the outcome at once and a crash leaves
nothing half done. A GET never changes anything: mail scanners open links before people do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from pathlib import Path
from typing import Any

import polars as pl
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select

from buzon.errors import EventFileError
from buzon.settings import Settings
from callbacks import csrf
from callbacks.reenvio import RUTA as RUTA_REENVIO
from callbacks.reenvio import add_resend_route
from delivery.secrets import load_key, token_digest
from reconcile.apply import aplicar
from reconcile.events import CAMPOS, validar
from registry.clock import utc
from registry.db import get_engine
from registry.tables import medios
from registry.ventanas import antes_del

log = logging.getLogger(__name__)

FIRMA_HEADER = "X-Buzon-Firma"
_HEADERS = {
    # No external assets; the token in the URL must not leak through Referer.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
    " frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_GENERICO = "El código no es correcto o los datos no corresponden a un celular en validación."
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


def _evento(**campos: Any) -> pl.DataFrame:
    row = {c: (None if campos.get(c) is None else str(campos[c])) for c in CAMPOS}
    return pl.DataFrame(
        [{**row, "linea": 1}], schema={**dict.fromkeys(CAMPOS, pl.String), "linea": pl.Int64}
    )


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for ``settings`` (one engine, one HMAC key, read once)."""
    engine = get_engine(settings)
    key = load_key(settings)
    env = Environment(
        loader=PackageLoader("callbacks", "templates"), autoescape=select_autoescape(["html"])
    )
    app = FastAPI(title="Buzón IMSS masivo", docs_url=None, redoc_url=None, openapi_url=None)

    def page(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(name).render(**ctx)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def resultado(t: tuple[str, str, str], status: int = 200, detalle: str = "") -> HTMLResponse:
        return page(
            "resultado.html", status, titulo=t[0], clase=t[1], mensaje=t[2], detalle=detalle
        )

    def registrar(ev: pl.DataFrame, origen: str, contenido: bool = False) -> dict:
        ev = validar(ev, Path(origen)).with_columns(origen=pl.lit(origen))
        if not contenido:
            # A web request is its own event: two equal submissions are two attempts.
            ev = ev.with_columns(hash=pl.lit(hashlib.sha256(secrets.token_bytes(32)).hexdigest()))
        with engine.begin() as conn:
            res = aplicar(conn, settings, ev, key=key)
        if res.applied == 0:
            return {"resultado": "duplicado"}
        return res.resultados.row(0, named=True)

    @app.get("/v/{token}", response_class=HTMLResponse)
    def ver_enlace(token: str) -> HTMLResponse:
        now = utc(settings.clock())
        with engine.connect() as conn:
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

    @app.post("/v/{token}", response_class=HTMLResponse)
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

    @app.post("/celular", response_class=HTMLResponse)
    def celular_post(
        rfc: str = Form(""),
        telefono: str = Form(""),
        codigo: str = Form(""),
        csrf_token: str = Form("", alias="csrf"),
    ) -> HTMLResponse:
        now = utc(settings.clock())
        rfc, telefono = rfc.strip().upper()[:13], telefono.strip()[:10]
        if not csrf.verificar(key, "/celular", csrf_token, now):
            return form(
                403,
                clase="error",
                mensaje="La página caducó; inténtalo de nuevo.",
                rfc=rfc,
                telefono=telefono,
            )
        ev = _evento(
            tipo="codigo_sms",
            rfc=rfc,
            telefono=telefono,
            codigo=codigo.strip(),
            fecha=now.isoformat(),
        )
        try:
            r = registrar(ev, "web")
        except EventFileError:
            return form(
                400,
                clase="error",
                mensaje="Revisa los datos: RFC válido, celular de 10 dígitos, código de 5 dígitos.",
                rfc=rfc,
                telefono=telefono,
            )
        res = r["resultado"]
        if res == "validado":
            return resultado(
                ("Celular validado", "ok", "La validación del número celular fue exitosa."),
                detalle="Recibirás un SMS de confirmación. " + _SIGUIENTE_PASO,
            )
        if res == "ya_validado":
            return resultado(
                ("Celular ya validado", "ok", "Este número celular ya estaba validado.")
            )
        if res == "vencido":
            msg = (
                "El código venció: pasaron más de 72 horas desde el envío del SMS y el registro"
                " se canceló. El celular debe registrarse de nuevo como medio de contacto."
            )
            return form(clase="aviso", mensaje=msg, rfc=rfc, telefono=telefono)
        agotado = res == "codigo_agotado" or (
            res == "codigo_incorrecto" and r["intentos_despues"] >= settings.max_wrong_codes
        )
        if agotado:
            msg = (
                "Se agotaron los intentos para este código: ya no es válido. Solicita "
                "«Reenviar código de verificación» para recibir uno nuevo."
            )
            return form(clase="error", mensaje=msg, rfc=rfc, telefono=telefono)
        return form(clase="error", mensaje=_GENERICO, rfc=rfc, telefono=telefono)

    add_resend_route(app, settings, engine, key, form)  # «Reenviar código de verificación»

    @app.post("/webhooks/entregas")
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        secret = settings.webhook_secret
        firma = request.headers.get(FIRMA_HEADER, "")
        if secret is None:
            log.warning("webhook rechazado: BUZON_WEBHOOK_SECRET no está configurado")
            return JSONResponse({"error": "firma inválida"}, status_code=401)
        esperada = (
            "sha256="
            + hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(firma.encode(), esperada.encode()):
            return JSONResponse({"error": "firma inválida"}, status_code=401)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            return JSONResponse({"error": "JSON inválido"}, status_code=400)
        ev = _evento(
            tipo="entrega",
            referencia=data.get("reference"),
            estado=data.get("status"),
            motivo=data.get("reason"),
            fecha=data.get("at") or utc(settings.clock()).isoformat(),
        )
        try:
            from starlette.concurrency import run_in_threadpool

            r = await run_in_threadpool(registrar, ev, "webhook", True)
        except EventFileError as exc:
            return JSONResponse({"error": exc.message}, status_code=422)
        return JSONResponse({"resultado": r["resultado"]})

    return app
