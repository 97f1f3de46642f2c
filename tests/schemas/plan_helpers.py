"""Builders for small uploads and what tests read back from a plan (real files, real loaders)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

from openpyxl import Workbook

from schemas.plan import PlanResult

WIDE = ["RFC", "Razón social", "Registro patronal", "Correo 1", "Correo 2", "Celular"]
LONG = ["RFC", "Nombre", "NRP", "Mecanismo", "Medio"]

# Identifiers that pass every rule (RFC check digits included) and one per warning.
KUMO = "EKU9003173C9"
GODE = "GODE561231GR8"
BAJIO = "ABC680524P76"  # its check digit does not match: RFC_DIGITO
RP1, RP2 = "Y3926552104", "B1212338102"
CEL1, CEL2 = "5512345678", "3336150000"

Rows = Sequence[Sequence[object]]


def write_xlsx(path: Path, sheets: dict[str, Rows]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def write_csv(path: Path, rows: Rows, *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


PlanOf = Callable[..., PlanResult]


def codes(result: PlanResult) -> list[str | None]:
    """The code of every entry in file order (None = accepted)."""
    return result.entries["codigo"].to_list()


def warning_list(result: PlanResult) -> list[tuple[int, str]]:
    return [(fila, code) for fila, code in result.warnings.select("fila", "codigo").iter_rows()]
