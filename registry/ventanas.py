"""The 72-hour windows, as the IMSS guide states them, and how a deadline is written.

- Email: 72 hours **from the registration** ("a partir del registro realizado"); apply stores
  ``vence_en = creado_en + 72 h`` and the first send keeps it.
- Mobile: 72 hours **from the SMS** ("posteriores a la recepción del SMS"): every send opens a new
  window.
- A resend (either mechanism) opens a new 72-hour window from the resend.
- A medium registered but never sent expires 72 hours after its registration (``registrado`` can
  reach ``vencido``; ``registry.transitions.vencer`` expires both), so nothing holds a slot
  forever.

People read every deadline as a date and time in Mexico City: "antes del 05/12/2026 14:05".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta  # noqa: F401 - UTC: the doctests use it

from registry.clock import MEXICO, utc


def fecha_mx(instante: datetime) -> str:
    """``DD/MM/AAAA HH:MM`` in Mexico City time (a naive instant is UTC, as SQLite returns it).

    >>> fecha_mx(datetime(2026, 12, 5, 20, 5, 59, tzinfo=UTC))
    '05/12/2026 14:05'
    >>> fecha_mx(datetime(2024, 8, 8, 17, 42))
    '08/08/2024 11:42'
    """
    return utc(instante).astimezone(MEXICO).strftime("%d/%m/%Y %H:%M")


def antes_del(instante: datetime) -> str:
    """The deadline as people read it.

    >>> antes_del(datetime(2026, 12, 5, 20, 5, tzinfo=UTC))
    'antes del 05/12/2026 14:05'
    """
    return f"antes del {fecha_mx(instante)}"


def plazo_envio(
    mecanismo: str, envios: int, vence_en: datetime | None, now: datetime, horas: int
) -> datetime:
    """The deadline a send made at ``now`` gives the person.

    The first send of an email keeps the window that started at the registration (``vence_en``
    set by apply); any other send (an SMS, a resend) opens ``horas`` from ``now``.

    >>> t = datetime(2026, 12, 2, 12, 0, tzinfo=UTC); reg = t + timedelta(hours=60)
    >>> plazo_envio("correo", 0, reg, t, 72) == reg, plazo_envio("correo", 1, reg, t, 72) == reg
    (True, False)
    >>> plazo_envio("telefono", 0, reg, t, 72) == t + timedelta(hours=72)
    True
    """
    if mecanismo == "correo" and envios == 0 and vence_en is not None:
        return utc(vence_en)
    return utc(now) + timedelta(hours=horas)


def vence_registro(now: datetime, horas: int) -> datetime:
    """``vence_en`` of a medium registered at ``now``: its registration window."""
    return utc(now) + timedelta(hours=horas)
