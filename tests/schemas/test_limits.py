"""Per-scope limits across rows, sheets and files, and counted against the registry (Existing)."""

from __future__ import annotations

import polars as pl
from plan_helpers import CEL1, CEL2, GODE, KUMO, RP1, RP2, PlanOf, codes

from schemas.limits import Existing

HEADER = ["RFC", "Registro patronal", "Correo", "Celular"]


def _mails(rfc: str, rp: str, names: list[str]) -> list[list[str]]:
    return [[rfc, rp, f"{n}@kumo.mx", ""] for n in names]


def _active(rows: list[tuple[str, str | None, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"rfc": pl.String, "rp": pl.String, "mecanismo": pl.String, "medio": pl.String},
        orient="row",
    )


def test_limit_across_rows(plan_of: PlanOf) -> None:
    result = plan_of([HEADER, *_mails(KUMO, "", list("abcdef")), *_mails(KUMO, "", ["a", "g"])])
    assert codes(result) == [None] * 5 + ["CORREOS_EXCEDIDOS", None, "CORREOS_EXCEDIDOS"]


def test_limit_across_sheets(plan_of: PlanOf) -> None:
    result = plan_of(
        {
            "Uno": [HEADER, *_mails(KUMO, "", list("abc")), [KUMO, "", "", CEL1]],
            "Dos": [["Título"], HEADER, *_mails(KUMO, "", list("cdef")), [KUMO, "", "", CEL2]],
        }
    )
    assert result.entries["hoja"].to_list() == ["Uno"] * 4 + ["Dos"] * 5
    assert codes(result) == [None] * 4 + [
        None,
        None,
        None,
        "CORREOS_EXCEDIDOS",
        "TELEFONO_EXCEDIDO",
    ]
    assert result.entries["duplicado"].to_list()[4] is True  # "c" again, on the second sheet


def test_limit_across_files(plan_of: PlanOf) -> None:
    first = [HEADER, *_mails(KUMO, RP1, list("abcd")), [KUMO, RP1, "", CEL1]]
    second = [
        HEADER,
        *_mails(KUMO, RP1, list("ef")),
        [KUMO, RP1, "", CEL2],
        [GODE, RP1, "x@gode.mx", ""],
    ]
    result = plan_of([first, second], many=True)
    # Argument order, then row order.
    assert result.entries["archivo"].unique(maintain_order=True).to_list() == result.files
    assert codes(result) == [None] * 5 + [
        None,
        "CORREOS_EXCEDIDOS",
        "TELEFONO_EXCEDIDO",
        "RP_OTRO_RFC",
    ]
    assert result.entries["archivo"].n_unique() == 2


def test_scopes_are_independent(plan_of: PlanOf) -> None:
    rows = [
        HEADER,
        *_mails(KUMO, "", list("abcde")),
        *_mails(KUMO, RP1, list("abcde")),
        *_mails(KUMO, RP2, list("abcde")),
        [KUMO, "", "", CEL1],
        [KUMO, RP1, "", CEL2],
        [KUMO, RP2, "", CEL2],
    ]
    assert codes(plan_of(rows)) == [None] * 18


def test_registry_media_count_first(plan_of: PlanOf) -> None:
    existing = Existing(
        active=_active(
            [(KUMO, None, "correo", f"{n}@kumo.mx") for n in "xyz"]
            + [(KUMO, None, "telefono", CEL1), (KUMO, RP1, "correo", "a@kumo.mx")]
        )
    )
    rows = [
        HEADER,
        *_mails(KUMO, "", list("abcx")),
        [KUMO, "", "", CEL2],
        [KUMO, "", "", CEL1],
        *_mails(KUMO, RP1, list("abcdef")),
    ]
    result = plan_of(rows, existing=existing)
    # RFC scope: x, y, z registered -> a, b fit, c is the sixth; x is already there (fits).
    # Its mobile is taken by CEL1: CEL2 is excess, CEL1 itself is fine.
    # RP1: a registered -> b, c, d, e fit, f is the sixth.
    assert codes(result) == [
        None,
        None,
        "CORREOS_EXCEDIDOS",
        None,
        "TELEFONO_EXCEDIDO",
        None,
        None,
        None,
        None,
        None,
        None,
        "CORREOS_EXCEDIDOS",
    ]


def test_registry_limits_only_their_scope(plan_of: PlanOf) -> None:
    existing = Existing(active=_active([(GODE, None, "correo", f"{n}@gode.mx") for n in "vwxyz"]))
    result = plan_of(
        [HEADER, *_mails(KUMO, "", ["a"]), [GODE, "", "n@gode.mx", ""]], existing=existing
    )
    assert codes(result) == [None, "CORREOS_EXCEDIDOS"]


def test_registro_reader_gets_the_upload_keys(tmp_path) -> None:  # noqa: ANN001
    from plan_helpers import write_csv

    from schemas.plan import load_file, plan_entries

    seen: dict[str, list[str]] = {}

    def loader(rfcs: list[str], rps: list[str]) -> Existing:
        seen["rfcs"], seen["rps"] = sorted(rfcs), sorted(rps)
        return Existing()

    path = write_csv(
        tmp_path / "c.csv",
        [HEADER, ["eku-900317-3c9", "y39-26552-10-4", "a@b.mx", ""], [GODE, "", "b@c.mx", ""]],
    )
    plan_entries([load_file(path)], read_registro=loader)
    assert seen == {"rfcs": sorted([KUMO, GODE]), "rps": [RP1]}
