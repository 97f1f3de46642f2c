"""States of a contact medium and the only place their transitions are decided.

::

    registrado ──send──▶ enviado ──validate──▶ validado
        ├──72 h, never sent──▶ vencido
        │                  ├──72 h──▶ vencido
        │                  ├──last send's code dead──▶ cancelado
        │                  └──bounce──▶ no_entregado
        └──permanent failure──▶ no_entregado
    registrado | enviado | validado ──owner removes──▶ baja

``cancelado``: the code of the medium's last allowed send (``envios`` has reached
``BUZON_MAX_SENDS_PER_MEDIUM``) died of ``BUZON_MAX_WRONG_CODES`` wrong codes, so nothing can
validate it any more (a code of an earlier send dies instead and waits for a resend). Terminal
states never come back: registering the same value again makes a new medium with a new folio.
Every write of these transitions is in :mod:`registry.transitions`.
"""

from __future__ import annotations

from enum import StrEnum

from buzon.errors import TransitionError


class Estado(StrEnum):
    REGISTRADO = "registrado"
    ENVIADO = "enviado"
    VALIDADO = "validado"
    VENCIDO = "vencido"
    CANCELADO = "cancelado"
    NO_ENTREGADO = "no_entregado"
    BAJA = "baja"

    @property
    def activo(self) -> bool:
        return self in ACTIVOS

    @property
    def terminal(self) -> bool:
        return self not in ACTIVOS


ACTIVOS: frozenset[Estado] = frozenset({Estado.REGISTRADO, Estado.ENVIADO, Estado.VALIDADO})

TRANSICIONES: dict[Estado, frozenset[Estado]] = {
    # enviado -> enviado is a resend: new code, new 72-hour window.
    Estado.REGISTRADO: frozenset(
        {Estado.ENVIADO, Estado.NO_ENTREGADO, Estado.BAJA, Estado.VENCIDO}  # never sent in 72 h
    ),
    Estado.ENVIADO: frozenset(
        {
            Estado.ENVIADO,
            Estado.VALIDADO,
            Estado.VENCIDO,
            Estado.CANCELADO,
            Estado.NO_ENTREGADO,
            Estado.BAJA,
        }
    ),
    Estado.VALIDADO: frozenset({Estado.BAJA}),
    Estado.VENCIDO: frozenset(),
    Estado.CANCELADO: frozenset(),
    Estado.NO_ENTREGADO: frozenset(),
    Estado.BAJA: frozenset(),
}


def puede(de: Estado | str, a: Estado | str) -> bool:
    """Whether the state machine allows ``de -> a``.

    >>> puede("registrado", "enviado"), puede("vencido", "enviado")
    (True, False)
    """
    return Estado(a) in TRANSICIONES[Estado(de)]


def transicion(de: Estado | str, a: Estado | str) -> Estado:
    """Return the target state, or raise :class:`TransitionError` if the move is forbidden."""
    if not puede(de, a):
        raise TransitionError(
            f"transición no permitida: {Estado(de)} -> {Estado(a)}", de=str(de), a=str(a)
        )
    return Estado(a)


def origenes(a: Estado | str) -> frozenset[Estado]:
    """Every state from which ``a`` can be reached (for guarded ``UPDATE ... WHERE estado IN``)."""
    return frozenset(de for de, destinos in TRANSICIONES.items() if Estado(a) in destinos)
