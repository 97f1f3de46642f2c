"""The library entry points the stateful test drives, imported in this one place (a move of a
module changes only these lines)."""

from __future__ import annotations

from delivery.dispatcher import dispatch
from delivery.resend import resend
from reconcile.apply import reconciliar
from registry.apply import apply_entries
from registry.baja import baja_medio
from registry.reader import registro_reader
from registry.states import ACTIVOS, puede
from schemas.plan import plan_files

__all__ = [
    "ACTIVOS",
    "apply_entries",
    "baja_medio",
    "dispatch",
    "plan_files",
    "puede",
    "reconciliar",
    "registro_reader",
    "resend",
]
