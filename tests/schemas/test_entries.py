"""Header detection and layouts: which row is the header, which column holds what, which entries."""

from __future__ import annotations

import pytest
from plan_helpers import CEL1, KUMO, RP1, PlanOf, codes

from schemas.headers import normalize, role


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("RFC", "rfc"),
        ("R.F.C.", "rfc"),
        (" r f c ", "rfc"),
        ("Razón social", "nombre"),
        ("NOMBRE", "nombre"),
        ("Nombre o razón social", "nombre"),
        ("Denominación o Razón Social", "nombre"),
        ("Registro patronal", "rp"),
        ("Reg. patronal", "rp"),
        ("NRP", "rp"),
        ("RP", "rp"),
        ("Correo", "correo"),
        ("Correo electrónico", "correo"),
        ("Email", "correo"),
        ("E-mail", "correo"),
        ("e_mail", "correo"),
        ("Correo 1", "correo"),
        ("Correo 12", "correo"),
        ("Correo electrónico 3", "correo"),
        ("Email2", "correo"),
        ("Celular", "telefono"),
        ("Teléfono celular", "telefono"),
        ("TELEFONO MOVIL", "telefono"),
        ("Móvil", "telefono"),
        ("Teléfono", "telefono"),
        ("Celular 2", "telefono"),
        ("Mecanismo", "mecanismo"),
        ("Mecanismo de comunicación", "mecanismo"),
        ("Medio", "medio"),
        ("Medio de contacto", "medio"),
        ("Notas", None),
        ("", None),
        (None, None),
        ("RFC del representante", None),
    ],
)
def test_header_synonyms(header: str | None, expected: str | None) -> None:
    assert role(header) == expected


def test_normalize_strips_case_accents_and_punctuation() -> None:
    assert normalize("  Teléfono   Móvil (1) ") == "telefonomovil1"
    assert normalize("DENOMINACIÓN/RAZÓN-SOCIAL") == "denominacionrazonsocial"


def test_title_rows_above_the_header(plan_of: PlanOf) -> None:
    rows = [
        ["Carga de medios"],
        ["Empresa Kumo", "", "al 06/08/2024"],
        [],
        ["R.F.C.", "Correo electrónico"],
        [KUMO, "a@kumo.mx"],
    ]
    result = plan_of({"Hoja1": rows})
    assert result.entries["fila"].to_list() == [5]
    assert result.summary["sheets_skipped"] == []


def test_header_must_be_within_ten_rows(plan_of: PlanOf) -> None:
    at_ten = [["título"]] * 9 + [["RFC", "Correo"], [KUMO, "a@kumo.mx"]]
    at_eleven = [["título"]] * 10 + [["RFC", "Correo"], [KUMO, "b@kumo.mx"]]
    result = plan_of({"Diez": at_ten, "Once": at_eleven})
    assert result.entries["medio"].to_list() == ["a@kumo.mx"]
    assert result.summary["sheets_skipped"] == [{"archivo": result.files[0], "hoja": "Once"}]


def test_sheets_without_header_are_reported(plan_of: PlanOf) -> None:
    result = plan_of(
        {
            "Instrucciones": [["Llena la hoja Medios"]],
            "Medios": [["RFC", "Correo"], [KUMO, "a@kumo.mx"]],
            "Vacía": [],
        }
    )
    skipped = [s["hoja"] for s in result.summary["sheets_skipped"]]
    assert skipped == ["Instrucciones", "Vacía"]


def test_empty_rows_are_ignored_and_keep_row_numbers(plan_of: PlanOf) -> None:
    rows = [
        [],
        [],
        ["RFC", "Correo", "Notas"],
        [],
        [KUMO, "a@kumo.mx"],
        ["", "", "solo una nota"],
        [None, None],
        [KUMO, "b@kumo.mx"],
    ]
    result = plan_of({"Medios": rows})
    assert result.entries["fila"].to_list() == [5, 8]
    assert result.summary["entries"] == 2


def test_leading_empty_rows_in_csv_keep_line_numbers(plan_of: PlanOf) -> None:
    result = plan_of([[], ["RFC", "Correo"], [], [KUMO, "a@kumo.mx"]])
    assert result.entries["fila"].to_list() == [4]
    assert result.entries["hoja"].to_list() == [None]


def test_wide_layout_one_entry_per_filled_cell(plan_of: PlanOf) -> None:
    header = ["RFC", "Registro patronal", "Correo 1", "Correo 2", "Correo 3", "Celular", "Notas"]
    result = plan_of([header, [KUMO, RP1, "a@kumo.mx", "", "c@kumo.mx", CEL1, "x"]])
    assert result.entries.select("columna", "mecanismo", "medio").rows() == [
        ("Correo 1", "correo", "a@kumo.mx"),
        ("Correo 3", "correo", "c@kumo.mx"),
        ("Celular", "telefono", CEL1),
    ]


def test_long_layout_one_entry_per_row(plan_of: PlanOf) -> None:
    header = ["RFC", "NRP", "Mecanismo de comunicación", "Medio de contacto"]
    rows = [
        header,
        [KUMO, RP1, "Correo electrónico", "A@Kumo.mx"],
        [KUMO, "", "e-mail", "b@kumo.mx"],
        [KUMO, "", "celular", CEL1],
        [KUMO, "", "Teléfono Celular", CEL1],
    ]
    result = plan_of(rows)
    assert result.entries.select("fila", "mecanismo", "rp", "medio").rows() == [
        (2, "correo", RP1, "a@kumo.mx"),
        (3, "correo", None, "b@kumo.mx"),
        (4, "telefono", None, CEL1),
        (5, "telefono", None, CEL1),
    ]
    assert codes(result) == [None] * 4
    assert result.entries["columna"].to_list() == ["Medio de contacto"] * 4


def test_numeric_cells_are_read_as_text(plan_of: PlanOf) -> None:
    # Excel stores typed phones and all-digit RPs as numbers; late text in the same column must
    # survive too (a guessed numeric column would turn it into null).
    rows = [["RFC", "Registro patronal", "Celular"]]
    rows += [[KUMO, 12345678903 + i * 10, 5512345678 + i] for i in range(30)]
    rows += [[KUMO, "Y39-26552-10-4", "33 3615 0000"]]
    result = plan_of({"Medios": rows})
    assert result.entries["valor"].to_list()[:2] == ["5512345678", "5512345679"]
    assert result.entries["rp_valor"].to_list()[0] == "12345678903"
    assert result.entries["medio"].to_list()[-1] == "3336150000"
    assert result.entries["rp"].to_list()[-1] == RP1
