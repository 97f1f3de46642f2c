"""Each rejection and warning code, and the order in which the rules are applied."""

from __future__ import annotations

import pytest
from plan_helpers import (
    BAJIO,
    CEL1,
    CEL2,
    GODE,
    KUMO,
    LONG,
    RP1,
    RP2,
    WIDE,
    PlanOf,
    codes,
    warning_list,
)

from schemas.codes import ADVERTENCIAS, ORDEN, RECHAZOS


def test_clean_rows_are_accepted_and_normalized(plan_of: PlanOf) -> None:
    result = plan_of([WIDE, [KUMO, "Kumo", "", "Buzon@Kumo.MX", "", f"+52 1 {CEL1}"]])
    assert codes(result) == [None, None]
    assert result.entries["medio"].to_list() == ["buzon@kumo.mx", CEL1]
    assert result.warnings.height == 0


@pytest.mark.parametrize(
    ("row", "code"),
    [
        (["", "Sin RFC", "", "a@kumo.mx", "", ""], "RFC_INVALIDO"),
        (["EKU90031", "Corto", "", "a@kumo.mx", "", ""], "RFC_INVALIDO"),
        (["XAXX010101000", "Público", "", "a@kumo.mx", "", ""], "RFC_INVALIDO"),
        (["XEXX010101000", "Extranjero", "", "a@kumo.mx", "", ""], "RFC_INVALIDO"),
        ([KUMO, "Kumo", "Y392655210", "a@kumo.mx", "", ""], "RP_INVALIDO"),
        ([KUMO, "Kumo", "YY926552104", "a@kumo.mx", "", ""], "RP_INVALIDO"),
        ([KUMO, "Kumo", "Y3926552105", "a@kumo.mx", "", ""], "RP_DIGITO"),
        ([KUMO, "Kumo", "", "nomina@@kumo.mx", "", ""], "CORREO_INVALIDO"),
        ([KUMO, "Kumo", "", "a@kumo.mx", "", "800 123 4567"], "TELEFONO_INVALIDO"),
        ([KUMO, "Kumo", "", "a@kumo.mx", "", "900 123 4567"], "TELEFONO_INVALIDO"),
        ([KUMO, "Kumo", "", "a@kumo.mx", "", "55 1234"], "TELEFONO_INVALIDO"),
    ],
)
def test_each_rejection_code(plan_of: PlanOf, row: list[str], code: str) -> None:
    result = plan_of([WIDE, row])
    assert code in codes(result)
    rejected = result.rejected.row(0, named=True)
    assert rejected["codigo"] == code
    assert rejected["mensaje"] == RECHAZOS[code]


def test_sin_medio_keeps_a_row_without_contacts(plan_of: PlanOf) -> None:
    result = plan_of([WIDE, [KUMO, "Kumo", RP1, "", "", ""]])
    assert codes(result) == ["SIN_MEDIO"]
    assert result.summary["entries"] == 1


def test_rp_of_another_rfc_belongs_to_the_first(plan_of: PlanOf) -> None:
    result = plan_of(
        [
            WIDE,
            [KUMO, "Kumo", RP1, "a@kumo.mx", "", ""],
            [GODE, "Gode", RP1, "b@gode.mx", "", ""],
            [KUMO, "Kumo", RP1, "c@kumo.mx", "", ""],
        ]
    )
    assert codes(result) == [None, "RP_OTRO_RFC", None]


def test_rp_owned_by_the_registry(plan_of: PlanOf) -> None:
    import polars as pl

    from schemas.limits import Existing

    existing = Existing(rp_owner=pl.DataFrame({"rp": [RP1], "rfc": [GODE]}))
    result = plan_of([WIDE, [KUMO, "Kumo", RP1, "a@kumo.mx", "", ""]], existing=existing)
    assert codes(result) == ["RP_OTRO_RFC"]


def test_mecanismo_invalido_in_long_layout(plan_of: PlanOf) -> None:
    result = plan_of(
        [
            LONG,
            [KUMO, "Kumo", "", "Fax", "55 1234 5678"],
            [KUMO, "Kumo", "", "", "a@kumo.mx"],
            [KUMO, "Kumo", "", "Correo electrónico", "a@kumo.mx"],
            [KUMO, "Kumo", "", "TELÉFONO MÓVIL", CEL1],
        ]
    )
    assert codes(result) == ["MECANISMO_INVALIDO", "MECANISMO_INVALIDO", None, None]


def test_emails_beyond_five_per_scope(plan_of: PlanOf) -> None:
    header = ["RFC", "Registro patronal", *[f"Correo {i}" for i in range(1, 8)]]
    mails = [f"m{i}@kumo.mx" for i in range(1, 8)]
    result = plan_of([header, [KUMO, "", *mails], [KUMO, RP1, *mails]])
    assert (
        codes(result)
        == [None] * 5 + ["CORREOS_EXCEDIDOS"] * 2 + [None] * 5 + ["CORREOS_EXCEDIDOS"] * 2
    )
    assert result.rejected["mensaje"].unique().to_list() == [RECHAZOS["CORREOS_EXCEDIDOS"]]


def test_second_mobile_per_scope(plan_of: PlanOf) -> None:
    result = plan_of(
        [
            WIDE,
            [KUMO, "Kumo", "", "a@kumo.mx", "", CEL1],
            [KUMO, "Kumo", "", "", "", CEL2],
            [KUMO, "Kumo", "", "", "", f"044 {CEL1}"],
            [KUMO, "Kumo", RP1, "", "", CEL2],
        ]
    )
    # The same mobile again is a duplicate, a different one is excess; an RP is its own scope.
    assert codes(result) == [None, None, "TELEFONO_EXCEDIDO", None, None]
    assert warning_list(result) == [(4, "DUPLICADO")]


@pytest.mark.parametrize(
    ("row", "code"),
    [
        # Every rule broken at once: the RFC wins.
        (["XAXX010101000", "Y392655210", "Fax", "nomina@@kumo.mx"], "RFC_INVALIDO"),
        ([KUMO, "Y392655210", "Fax", "nomina@@kumo.mx"], "RP_INVALIDO"),
        ([KUMO, "Y3926552105", "Fax", "nomina@@kumo.mx"], "RP_DIGITO"),
        ([GODE, RP1, "Fax", "nomina@@kumo.mx"], "RP_OTRO_RFC"),
        ([KUMO, RP1, "Fax", "nomina@@kumo.mx"], "MECANISMO_INVALIDO"),
        ([KUMO, RP1, "correo", "nomina@@kumo.mx"], "CORREO_INVALIDO"),
        ([KUMO, RP1, "celular", "800 123 4567"], "TELEFONO_INVALIDO"),
        ([KUMO, RP1, "celular", CEL2], "TELEFONO_EXCEDIDO"),
    ],
)
def test_first_failing_rule_wins(plan_of: PlanOf, row: list[str], code: str) -> None:
    header = ["RFC", "NRP", "Mecanismo", "Medio"]
    owner = [KUMO, RP1, "celular", CEL1]  # makes KUMO own RP1 and fill its mobile
    result = plan_of([header, owner, row])
    assert codes(result) == [None, code]


def test_rule_order_is_the_documented_one() -> None:
    assert ORDEN == [
        "RFC_INVALIDO",
        "RP_TODOS_SIN_RP",
        "RP_INVALIDO",
        "RP_DIGITO",
        "RP_OTRO_RFC",
        "MECANISMO_INVALIDO",
        "SIN_MEDIO",
        "CORREO_INVALIDO",
        "TELEFONO_INVALIDO",
        "CORREOS_EXCEDIDOS",
        "TELEFONO_EXCEDIDO",
    ]


def test_rp_digito_can_be_a_warning(plan_of: PlanOf) -> None:
    rows = [WIDE, [KUMO, "Kumo", "Y39-26552-10-5", "a@kumo.mx", "", ""]]
    assert codes(plan_of(rows)) == ["RP_DIGITO"]
    relaxed = plan_of(rows, rp_digito_warning=True)
    assert codes(relaxed) == [None]
    assert relaxed.entries["rp"].to_list() == ["Y3926552105"]
    assert ("RP_DIGITO", "Y39-26552-10-5", "Registro patronal") in [
        (c, v, col)
        for c, v, col in relaxed.warnings.select("codigo", "valor", "columna").iter_rows()
    ]


def test_rp_digito_downgrade_through_settings(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from plan_helpers import write_csv

    from buzon.settings import Settings
    from schemas.plan import plan_files

    path = write_csv(tmp_path / "c.csv", [WIDE, [KUMO, "K", "Y3926552105", "a@kumo.mx", "", ""]])
    assert plan_files([path], Settings(rp_digito_warning=True)).summary["accepted"] == 1
    monkeypatch.setenv("BUZON_RP_DIGITO_WARNING", "true")
    assert plan_files([path], Settings()).summary["warnings"]["RP_DIGITO"] == 1


def test_rfc_digito_is_warned_once_per_rfc(plan_of: PlanOf) -> None:
    result = plan_of(
        [
            WIDE,
            [BAJIO, "Bajío", "", "a@bajio.mx", "", CEL1],
            [BAJIO, "Bajío", RP2, "b@bajio.mx", "", ""],
            ["abc-680524-p76", "Bajío", "", "c@bajio.mx", "", ""],
        ]
    )
    assert codes(result) == [None] * 4
    assert warning_list(result) == [(2, "RFC_DIGITO")]
    assert result.warnings.row(0, named=True)["mensaje"] == ADVERTENCIAS["RFC_DIGITO"]


def test_duplicado_after_normalization(plan_of: PlanOf) -> None:
    result = plan_of(
        [
            WIDE,
            [KUMO, "Kumo", "", "a@kumo.mx", " A@KUMO.MX ", CEL1],
            [KUMO, "Kumo", "", "mailto:a@kumo.mx", "", f"{CEL1}.0"],
        ]
    )
    assert codes(result) == [None] * 5
    assert result.entries["duplicado"].to_list() == [False, True, False, True, True]
    assert [c for _, c in warning_list(result)] == ["DUPLICADO"] * 3
    # Duplicates add nothing: one email and one mobile, two scopes' worth of media.
    assert result.summary["media"] == {"correo": 1, "telefono": 1}
    assert result.summary["scopes"] == 2


def test_rfc_incompleto_once_per_rfc(plan_of: PlanOf) -> None:
    result = plan_of(
        [
            WIDE,
            [KUMO, "Kumo", "", "a@kumo.mx", "", ""],
            [KUMO, "Kumo", RP1, "b@kumo.mx", "", CEL1],
            [GODE, "Gode", "", "", "", CEL2],
            [BAJIO, "Bajío", "", "a@bajio.mx", "", CEL1],
        ]
    )
    warnings = warning_list(result)
    assert (2, "RFC_INCOMPLETO") in warnings  # RP media do not complete the RFC scope
    assert (4, "RFC_INCOMPLETO") in warnings
    assert [c for _, c in warnings].count("RFC_INCOMPLETO") == 2


def test_rfc_incompleto_counts_the_registry(plan_of: PlanOf) -> None:
    import polars as pl

    from schemas.limits import Existing

    active = pl.DataFrame(
        {"rfc": [KUMO], "rp": [None], "mecanismo": ["telefono"], "medio": [CEL1]},
        schema={"rfc": pl.String, "rp": pl.String, "mecanismo": pl.String, "medio": pl.String},
    )
    result = plan_of(
        [WIDE, [KUMO, "Kumo", "", "a@kumo.mx", "", ""]], existing=Existing(active=active)
    )
    assert warning_list(result) == []


def test_summary_counts(plan_of: PlanOf) -> None:
    result = plan_of(
        [
            WIDE,
            [KUMO, "Kumo", "", "a@kumo.mx", "b@kumo.mx", CEL1],
            [KUMO, "Kumo", RP1, "a@kumo.mx", "", CEL1],
            [KUMO, "Kumo", RP2, "a@kumo.mx", "", ""],
            ["XAXX010101000", "Público", "", "p@x.mx", "", ""],
        ]
    )
    s = result.summary
    assert (s["entries"], s["accepted"], s["rejected"]) == (7, 6, 1)
    assert s["rejections"] == {"RFC_INVALIDO": 1}
    assert s["media"] == {"correo": 2, "telefono": 1}  # a@kumo.mx is one medium for 3 scopes
    assert (s["scopes"], s["rfcs"], s["rps"]) == (6, 1, 2)
