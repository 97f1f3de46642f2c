"""``buzon report``: every sheet's rows against a registry built through the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import polars as pl
from reports_helpers import NOMBRE_A, NOMBRE_B, RP1, RP2, RP_B, A, B, Registro

from reports.safe import FORMULA_START, neutralize


def _csv(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"))))


def test_report_rows(registro: Registro, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    data = json.loads(registro.run("report", "--out", str(out), "--json", "--sin-paquetes").output)
    assert data["rfcs"] == 3 and data["rps"] == 3 and data["medios"] == 6
    assert data["activados"] == 1 and data["aclaraciones"] == 1
    assert {k: v for k, v in data["por_estado"].items() if v} == {
        "validado": 2, "enviado": 2, "no_entregado": 1, "baja": 1
    }  # fmt: skip
    assert sorted(Path(f).name for f in data["files"]) == [
        "estado.html", "estado.xlsx", "estado_por_rp.csv", "medios.csv"
    ]  # fmt: skip

    rps = {r["registro_patronal"]: r for r in _csv(out / "estado_por_rp.csv")}
    assert set(rps) == {RP1, RP2, RP_B}
    r1 = rps[RP1]
    assert (r1["rfc"], r1["razon_social"], r1["estado_rfc"]) == (A, NOMBRE_A, "activado")
    # rh@kumo.mx (validated) was added to RP1 by the second upload; planta1 is still pending.
    assert (r1["correos_validados"], r1["celular_validado"], r1["pendientes"]) == ("1", "no", "1")
    # Sent at 11:42 (Mexico City) on 08/08: the 72 hours end at 11:42 on 11/08.
    assert r1["siguiente_accion"] == "Validar el correo planta1@kumo.mx antes del 11/08/2024 11:42"
    assert r1["vence"] == "2024-08-11 11:42"
    assert rps[RP2]["siguiente_accion"] == "Ninguna: el RFC está activado"
    assert rps[RP2]["pendientes"] == "0" and rps[RP2]["vence"] == ""
    rb = rps[RP_B]
    assert rb["razon_social"] == "'" + NOMBRE_B  # neutralized
    assert (rb["no_entregados"], rb["estado_rfc"]) == ("1", "incompleto")
    assert rb["siguiente_accion"] == "Registrar un correo electrónico para el RFC"

    medios = _csv(out / "medios.csv")
    assert len(medios) == 7  # 6 media; rh@kumo.mx has two scopes (the RFC and RP1)
    por_medio = {(m["medio"], m["registro_patronal"]): m for m in medios}
    rh = por_medio[("rh@kumo.mx", "")]
    assert rh["estado"] == "validado" and rh["folio_validacion"].startswith("BI-")
    assert rh["fecha_validacion"] == "2024-08-08 12:42"
    baja = por_medio[("baja@kumo.mx", RP2)]
    assert baja["estado"] == "baja" and baja["folio_baja"].startswith("BI-") and baja["fecha_baja"]
    assert por_medio[("nomina@bajio.mx", RP_B)]["estado"] == "no_entregado"

    wb = openpyxl.load_workbook(out / "estado.xlsx")
    assert wb.sheetnames == ["Por RP", "Por RFC", "Medios", "Aclaraciones", "Rechazos"]
    por_rfc = {r[0]: r for r in wb["Por RFC"].iter_rows(min_row=2, values_only=True)}
    head = [c.value for c in wb["Por RFC"][1]]
    a = dict(zip(head, por_rfc[A], strict=True))
    assert a["estado"] == "activado" and a["folio_tyc"].startswith("BI-")
    assert a["correos_validados"] == 1 and a["celular_validado"] == "sí"
    assert dict(zip(head, por_rfc[B], strict=True))["estado"] == "incompleto"
    acl = list(wb["Aclaraciones"].iter_rows(values_only=True))
    head = acl[0]
    (fila,) = [dict(zip(head, r, strict=True)) for r in acl[1:]]
    assert (fila["medio"], fila["causa"], fila["motivo"]) == (
        "nomina@bajio.mx", "no entregado", "buzón inexistente"
    )  # fmt: skip
    assert (fila["hasta"] - fila["desde"]).total_seconds() == 24 * 3600
    rech = list(wb["Rechazos"].iter_rows(values_only=True))
    head = rech[0]
    codigos = {(r[head.index("codigo")], r[head.index("valor")]) for r in rech[1:]}
    assert codigos == {("RFC_INVALIDO", "'=1+2"), ("CORREO_INVALIDO", "no-es-correo")}


def test_xlsx_has_no_formula_and_looks_right(registro_sqlite: Registro, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    registro_sqlite.run("report", "--out", str(out), "--sin-paquetes")
    wb = openpyxl.load_workbook(out / "estado.xlsx")
    for ws in wb:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert all(c.font.bold for c in ws[1])
        assert ws.column_dimensions["A"].width > 8
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), cell.value
    medios = wb["Medios"]
    head = [c.value for c in medios[1]]
    fecha = medios.cell(row=2, column=head.index("fecha_registro") + 1)
    assert fecha.is_date and fecha.number_format == "dd/mm/yyyy hh:mm"
    assert fecha.value.hour == 11 and fecha.value.minute == 42  # Mexico City, not UTC


def test_neutralize_every_formula_start() -> None:
    hostile = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "＝1", "＋1", "－1", "＠x", "ok", None]
    out = pl.DataFrame({"v": hostile}).select(neutralize("v"))["v"].to_list()
    assert out[:10] == ["'" + h for h in hostile[:10]]
    assert out[10:] == ["ok", None]


def test_report_only_some_rfcs(registro_sqlite: Registro, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    data = json.loads(
        registro_sqlite.run(
            "report", "--rfc", B, "--out", str(out), "--json", "--sin-paquetes"
        ).output
    )
    assert (data["rfcs"], data["rps"], data["medios"]) == (1, 1, 1)
    assert {r["rfc"] for r in _csv(out / "estado_por_rp.csv")} == {B}


def test_report_writes_nothing_to_the_store(registro_sqlite: Registro, tmp_path: Path) -> None:
    db = registro_sqlite.settings.home / "buzon.db"
    before = db.read_bytes()
    registro_sqlite.run("report", "--out", str(tmp_path / "rep"), "--sin-paquetes")
    assert db.read_bytes() == before


def test_previous_activation(registro: Registro, tmp_path: Path) -> None:
    """An RFC imported as activated before 06/08/2024 is `activado_previo`, with its folio."""
    archivo = tmp_path / "previos.csv"
    archivo.write_text(f"rfc,fecha,folio\n{B},2023-05-10,BI-ANTERIOR-1\n", encoding="utf-8")
    registro.run("activados", "importar", str(archivo))
    out = tmp_path / "rep"
    data = json.loads(registro.run("report", "--out", str(out), "--json", "--sin-paquetes").output)
    assert data["activados"] == 2
    wb = openpyxl.load_workbook(out / "estado.xlsx")
    head = [c.value for c in wb["Por RFC"][1]]
    filas = {
        r[0]: dict(zip(head, r, strict=True))
        for r in wb["Por RFC"].iter_rows(min_row=2, values_only=True)
    }
    assert filas[B]["estado"] == "activado_previo" and filas[B]["folio_tyc"] == "BI-ANTERIOR-1"
    assert filas[B]["siguiente_accion"] == "Ninguna: activado"
