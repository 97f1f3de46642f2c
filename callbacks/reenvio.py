"""``POST /celular/reenviar``: the person's «Reenviar código de verificación».

The form asks for the RFC and the mobile (and carries its CSRF field). Whatever the pair, the
answer is the same words, so nobody can learn which RFC/phone pairs are registered; the new
SMS goes out after the answer (a background task), so the response time tells nothing either.
The rules (only while ``enviado`` and in its window, one per minute, within the cap of sends)
live in :func:`delivery.resend_bulk.resend_for_person`.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI, Form
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from starlette.background import BackgroundTask

from buzon.settings import Settings
from callbacks import csrf
from delivery.dispatcher import dispatch
from delivery.resend_bulk import resend_for_person
from registry.clock import utc
from schemas import rfc as rfc_mod
from schemas import telefono as telefono_mod

RUTA = "/celular/reenviar"
RESPUESTA = (
    "Si el RFC y el número corresponden a un celular en validación, enviamos un código nuevo a ese "
    "número y el anterior ya no es válido. Puedes pedir un reenvío por minuto, hasta 5 envíos por "
    "celular; si el plazo del código ya venció, el celular debe registrarse de nuevo."
)


def add_resend_route(
    app: FastAPI,
    settings: Settings,
    engine: Engine,
    key: bytes,
    form: Callable[..., HTMLResponse],
) -> None:
    """Add ``POST /celular/reenviar`` to ``app``; ``form`` renders the ``/celular`` page."""

    # The same limits as the code form: codes and resends share one count per address and pair.
    @app.post(RUTA, response_class=HTMLResponse, dependencies=[Depends(app.state.throttle.codes)])
    def reenviar(
        rfc: str = Form(""),
        telefono: str = Form(""),
        csrf_token: str = Form("", alias="csrf"),
    ) -> HTMLResponse:
        now = utc(settings.clock())
        rfc = rfc_mod.compact(rfc)[:13]
        telefono = telefono_mod.compact(telefono)[-10:]
        if not csrf.verificar(key, RUTA, csrf_token, now):
            return form(403, clase="error", mensaje="La página caducó; inténtalo de nuevo.")
        outbox_id = resend_for_person(settings, engine, rfc, telefono)
        response = form(clase="aviso", mensaje=RESPUESTA, rfc=rfc, telefono=telefono)
        if outbox_id is not None:
            response.background = BackgroundTask(
                dispatch, settings, only_ids=[outbox_id], engine=engine
            )
        return response
