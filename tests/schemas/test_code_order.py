"""The rejection code of an entry that breaks several rules is the first of them in ORDEN.

Entries are generated with any combination of faults (bad RFC; RP of bad shape, bad check digit or
owned by another RFC; unknown mechanism; no medium; bad email or mobile; a scope already full in the
registry) and planned through a real CSV file and the real loaders. Each entry has its own RFC, RP
and medium, so entries never interfere and the expected code follows from its own faults.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from plan_helpers import write_csv

from schemas.codes import ORDEN
from schemas.limits import MAX_CORREOS, Existing
from schemas.plan import load_file, plan_entries
from schemas.registro_patronal import calc_check_digit

HEADER = ["RFC", "NRP", "Mecanismo", "Medio"]
OTRO_RFC = "ZZZ991231ZZ9"


@dataclass(frozen=True)
class Faults:
    rfc_malo: bool
    rp: str  # sin, bueno, forma, digito, otro
    mecanismo: str  # correo, telefono, fax
    medio: str  # bueno, vacio, malo
    alcance_lleno: bool

    def expected(self) -> str | None:
        found = []
        if self.rfc_malo:
            found.append("RFC_INVALIDO")
        found += {"forma": ["RP_INVALIDO"], "digito": ["RP_DIGITO"], "otro": ["RP_OTRO_RFC"]}.get(
            self.rp, []
        )
        if self.mecanismo == "fax":
            found.append("MECANISMO_INVALIDO")
        if self.medio == "vacio":
            found.append("SIN_MEDIO")
        if self.medio == "malo":
            found.append("CORREO_INVALIDO" if self.mecanismo == "correo" else "TELEFONO_INVALIDO")
        if self.alcance_lleno:
            found.append("CORREOS_EXCEDIDOS" if self.mecanismo == "correo" else "TELEFONO_EXCEDIDO")
        return min(found, key=ORDEN.index) if found else None


faults = st.builds(
    Faults,
    rfc_malo=st.booleans(),
    rp=st.sampled_from(["sin", "bueno", "forma", "digito", "otro"]),
    mecanismo=st.sampled_from(["correo", "telefono", "fax"]),
    medio=st.sampled_from(["bueno", "vacio", "malo"]),
    alcance_lleno=st.booleans(),
)


def _rfc(i: int) -> str:
    return f"EKU9{i // 12 % 10}{i % 12 + 1:02d}01AB1"  # well formed, one per entry


def _rp(i: int) -> str:
    base = f"Y39{i:05d}10"
    return base + calc_check_digit(base)


def _row(i: int, f: Faults) -> tuple[list[str], list[dict], list[dict]]:
    """The CSV row of entry ``i`` and the registry rows (owners, active media) its faults need."""
    rfc = "XAXX010101000" if f.rfc_malo else _rfc(i)
    rp = {"sin": "", "bueno": _rp(i), "otro": _rp(i), "forma": _rp(i)[:10]}.get(f.rp, "")
    if f.rp == "digito":
        good = _rp(i)
        rp = good[:10] + str((int(good[10]) + 1) % 10)
    mecanismo = {"correo": "correo", "telefono": "celular", "fax": "Fax"}[f.mecanismo]
    correo = f.mecanismo != "telefono"
    medio = {
        "bueno": f"rh{i}@kumo.mx" if correo else f"55{10_000_000 + i}",
        "vacio": "",
        "malo": "nomina@@kumo.mx" if correo else "800 123 4567",
    }[f.medio]
    owners = [{"rp": _rp(i), "rfc": OTRO_RFC if f.rp == "otro" else rfc}] if f.rp != "sin" else []
    active = []
    if f.alcance_lleno and f.mecanismo != "fax":
        mec = "correo" if correo else "telefono"
        n = MAX_CORREOS if correo else 1
        scope_rp = _rp(i) if f.rp in ("bueno", "otro") else None
        active = [
            {"rfc": _rfc(i), "rp": scope_rp, "mecanismo": mec, "medio": f"ya{i}-{k}@kumo.mx"}
            if correo
            else {"rfc": _rfc(i), "rp": scope_rp, "mecanismo": mec, "medio": f"33{20_000_000 + i}"}
            for k in range(n)
        ]
    return [rfc, rp, mecanismo, medio], owners, active


@given(st.lists(faults, min_size=1, max_size=8))
def test_code_is_the_first_failed_rule_in_order(entries: list[Faults]) -> None:
    rows, owners, active = [HEADER], [], []
    for i, f in enumerate(entries):
        row, own, act = _row(i, f)
        rows.append(row)
        owners += own
        active += act
    existing = Existing(
        rp_owner=pl.DataFrame(owners, schema={"rp": pl.String, "rfc": pl.String}),
        active=pl.DataFrame(
            active,
            schema={"rfc": pl.String, "rp": pl.String, "mecanismo": pl.String, "medio": pl.String},
        ),
    )
    with tempfile.TemporaryDirectory() as tmp:
        files = [load_file(write_csv(Path(tmp) / "carga.csv", rows))]
        result = plan_entries(files, read_registro=lambda rfcs, rps: existing)
    assert result.entries["codigo"].to_list() == [f.expected() for f in entries]
