"""The library entry points the stateful test drives, imported in this one place.

Reconciliation is moving to its own package; when it lands, only these imports change.
"""

from __future__ import annotations

from delivery.dispatcher import dispatch
from delivery.resend import resend
from registry.apply import apply_entries
from registry.baja import baja_medio
from registry.existing import existing_loader
from registry.reconcile import reconciliar
from registry.states import ACTIVOS, puede
from schemas.plan import plan_files

__all__ = [
    "ACTIVOS",
    "apply_entries",
    "baja_medio",
    "dispatch",
    "existing_loader",
    "plan_files",
    "puede",
    "reconciliar",
    "resend",
]
