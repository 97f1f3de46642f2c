"""Generate the small upload files under tests/data/ (committed; re-run after changing them).

    .venv/bin/python tests/data/make_data.py

``formatos/``: the same contacts (:data:`ROWS`) in every supported format and text encoding, so the
loader tests can glob them and expect one outcome. ``malos/``: unusable uploads, one per error.
Deterministic except ``malos/cifrado.xlsx`` (encryption salts are random by design).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
FORMATS = HERE / "formatos"
BAD = HERE / "malos"

TITLE = "Medios de contacto — Peña y Asociados"
HEADER = ["R.F.C.", "Razón social", "Reg. patronal", "Correo 1", "Correo 2", "Teléfono celular"]
# None is an empty cell; an empty list an empty row. The first mobile is numeric where the format
# has numbers (Excel stores typed phone numbers that way).
ROWS: list[list[object]] = [
    [
        "EKU9003173C9",
        "Empresa Kumo Universal",
        None,
        "buzon@kumo.mx",
        "Direccion@@Kumo.mx",
        5512345678,
    ],
    [
        "EKU9003173C9",
        "Empresa Kumo Universal",
        "Y39-26552-10-4",
        "nomina@kumo.mx",
        None,
        "+52 1 33 3615 0000",
    ],
    [],
    [
        "GODE561231GR8",
        "Eduardo González Díaz",
        None,
        "eduardo.gonzalez@gonzalez.mx",
        None,
        "044 81 5555 1234",
    ],
    ["XAXX010101000", "Público en general", None, "ventas@publico.mx", None, None],
]
# The same sheet as Excel shows it: title, empty row, header, the rows.
SHEET: list[list[object]] = [[TITLE], [], HEADER, *ROWS]

# What every format must give: (fila, columna, rfc, medio, codigo) per entry, in file order.
EXPECTED = [
    (4, "Correo 1", "EKU9003173C9", "buzon@kumo.mx", None),
    (4, "Correo 2", "EKU9003173C9", "direccion@@kumo.mx", "CORREO_INVALIDO"),
    (4, "Teléfono celular", "EKU9003173C9", "5512345678", None),
    (5, "Correo 1", "EKU9003173C9", "nomina@kumo.mx", None),
    (5, "Teléfono celular", "EKU9003173C9", "3336150000", None),
    (7, "Correo 1", "GODE561231GR8", "eduardo.gonzalez@gonzalez.mx", None),
    (7, "Teléfono celular", "GODE561231GR8", "8155551234", None),
    (8, "Correo 1", None, "ventas@publico.mx", "RFC_INVALIDO"),
]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def write_csv(path: Path, *, delimiter: str, encoding: str, bom: bool = False) -> None:
    lines = [delimiter.join(_text(v) for v in row) for row in SHEET]
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def write_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    notes.title = "Instrucciones"
    notes["A1"] = "Un renglón por registro patronal."
    sheet = book.create_sheet("Medios")
    for row in SHEET:
        sheet.append(row)
    book.save(path)


def write_xls(path: Path) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    book.add_sheet("Instrucciones").write(0, 0, "Un renglón por registro patronal.")
    sheet = book.add_sheet("Medios")
    for r, row in enumerate(SHEET):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    book.save(str(path))


def _ods_cell(value: object) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p>'
        "</table:table-cell>"
    )


def _ods_table(name: str, rows: list[list[object]]) -> str:
    body = "".join(
        "<table:table-row>"
        + ("".join(_ods_cell(v) for v in row) or "<table:table-cell/>")
        + "</table:table-row>"
        for row in rows
    )
    return f'<table:table table:name="{escape(name)}">{body}</table:table>'


def write_ods(path: Path) -> None:
    """A minimal valid OpenDocument spreadsheet, written by hand."""
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}>'
        "<office:body><office:spreadsheet>"
        + _ods_table("Instrucciones", [["Un renglón por registro patronal."]])
        + _ods_table("Medios", SHEET)
        + "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        # The mimetype entry comes first and uncompressed (ODF packaging rule).
        zf.writestr(
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)


def encrypt_xlsx(source: Path, target: Path, password: str = "secreto") -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    with source.open("rb") as fh:
        OOXMLFile(fh).encrypt(password, out)
    target.write_bytes(out.getvalue())


def write_formats(folder: Path = FORMATS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    write_xlsx(folder / "contactos.xlsx")
    write_xlsx(folder / "contactos.xlsm")
    write_xls(folder / "contactos.xls")
    write_ods(folder / "contactos.ods")
    write_csv(folder / "contactos_utf8_coma.csv", delimiter=",", encoding="utf-8")
    write_csv(
        folder / "contactos_utf8bom_puntoycoma.csv", delimiter=";", encoding="utf-8", bom=True
    )
    write_csv(folder / "contactos_cp1252_tab.csv", delimiter="\t", encoding="cp1252")
    write_csv(folder / "contactos_cp1252_puntoycoma.csv", delimiter=";", encoding="cp1252")
    write_csv(folder / "contactos_utf8_tab.txt", delimiter="\t", encoding="utf-8")
    return sorted(folder.iterdir())


def write_bad(folder: Path = BAD) -> list[Path]:
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    good = FORMATS / "contactos.xlsx"
    (folder / "danado.xlsx").write_bytes(b"esto no es un libro de Excel\n" * 4)
    (folder / "truncado.xlsx").write_bytes(good.read_bytes()[:2000])
    (folder / "vacio.csv").write_bytes(b"")
    (folder / "binario.csv").write_bytes(good.read_bytes())
    (folder / "no_es_xls.xls").write_bytes(b"RFC,Correo\nEKU9003173C9,a@b.mx\n")
    (folder / "carga.pdf").write_bytes(b"%PDF-1.4\n")
    book = Workbook()
    book.active["A1"] = "Sin encabezados"
    book.active["A2"] = "EKU9003173C9"
    book.save(folder / "sin_encabezado.xlsx")
    encrypt_xlsx(good, folder / "cifrado.xlsx")
    return sorted(folder.iterdir())


if __name__ == "__main__":
    for written in write_formats() + write_bad():
        print(written.relative_to(HERE))
