"""Generate ``sample_data/carga_corporativo.xlsx``: a realistic corporate upload.

A payroll outsourcer's template: a title row, an instructions sheet (no header: reported skipped),
a wide sheet with 3 client RFCs and ~300 Registros Patronales sharing a few emails, and a long
("one medium per row") sheet. It carries deliberate mistakes, each named in ``MISTAKES``, so a new
user sees every kind of rejection. Deterministic: the same file every run.

    python -m sample_data.make_sample [OUT]
"""

from __future__ import annotations

import random
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from schemas.registro_patronal import calc_check_digit

OUT = Path(__file__).with_name("carga_corporativo.xlsx")

# (RFC, razón social, RP prefix, how many RPs)
CLIENTS = [
    ("EKU9003173C9", "Empresa Kumo Universal, S.A. de C.V.", "Y39", 150),
    ("ABC680524P76", "Alimentos del Bajío Centro, S.A. de C.V.", "B12", 100),
    ("GODE561231GR8", "Eduardo González Díaz", "C45", 48),
]

MISTAKES = {
    "RFC genérico": "XAXX010101000",
    "RFC mal escrito": "EKU90031",
    "RP con dígito verificador incorrecto": "fila del RP Y3900001xx5",
    "RP de otro RFC": "un RP de Kumo repetido bajo Alimentos del Bajío",
    "correo inválido": "nomina@@kumo.mx",
    "celular 800": "800 123 4567",
    "sexto correo para el RFC": "RFC de Alimentos del Bajío con más de 5 correos",
    "correo repetido": "A1@Bajio.MX otra vez para el mismo RFC (DUPLICADO)",
    "RFC sin celular": "MAR920615KJ6 solo con correo (RFC_INCOMPLETO)",
    "RFC con dígito verificador dudoso": "ABC680524P76 (RFC_DIGITO, se acepta)",
    "segundo celular para un RP": "otro celular para un RP que ya tiene uno",
}


def rp(prefix: str, serie: int, modalidad: str = "10") -> str:
    payload = f"{prefix}{serie:05d}{modalidad}"
    return payload + calc_check_digit(payload)


def build(out: Path = OUT) -> Path:
    rnd = random.Random(20240806)
    wb = Workbook()
    info = wb.active
    info.title = "Instrucciones"
    info["A1"] = "Carga masiva de medios de contacto — Buzón IMSS"
    info["A1"].font = Font(bold=True, size=14)
    info["A3"] = (
        "Captura un renglón por registro patronal; deja vacío el registro patronal para el RFC."
    )
    info["A4"] = "Hasta 5 correos y 1 celular por RFC y por registro patronal."

    ws = wb.create_sheet("Medios por RP")
    ws["A1"] = "Despacho Nómina Integral — medios de contacto al 06/08/2024"
    ws["A1"].font = Font(bold=True)
    headers = [
        "RFC",
        "Razón social",
        "Registro patronal",
        "Correo 1",
        "Correo 2",
        "Correo 3",
        "Celular",
    ]
    ws.append([])
    ws.append(headers)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for rfc, name, prefix, count in CLIENTS:
        domain = name.split()[1].lower().replace("í", "i") + ".mx"
        # RFC scope: two emails and the mobile of the legal representative (as a number cell).
        ws.append(
            [
                rfc,
                name,
                None,
                f"buzon@{domain}",
                f"direccion@{domain}",
                None,
                int(f"55{rnd.randint(10000000, 99999999)}"),
            ]
        )
        shared = [f"nomina{i}@{domain}" for i in range(1, 4)]
        for i in range(count):
            number = rp(prefix, 10000 + i * 7)
            formatted = (
                f"{number[:3]}-{number[3:8]}-{number[8:10]}-{number[10]}" if i % 5 == 0 else number
            )
            mobile = (
                f"+52 1 33 {rnd.randint(1000, 9999)} {rnd.randint(1000, 9999)}"
                if i % 10 == 0
                else None
            )
            ws.append([rfc, name, formatted, shared[i % 3], f"rh@{domain}", None, mobile])
    # Deliberate mistakes.
    ws.append(["XAXX010101000", "Público en general", None, "ventas@publico.mx", None, None, None])
    ws.append(["EKU90031", "Empresa Kumo Universal", None, "error@kumo.mx", None, None, None])
    bad_digit = rp("Y39", 99999)[:-1] + str((int(rp("Y39", 99999)[-1]) + 1) % 10)
    ws.append(
        [
            "EKU9003173C9",
            "Empresa Kumo Universal, S.A. de C.V.",
            bad_digit,
            "nomina1@kumo.mx",
            None,
            None,
            None,
        ]
    )
    ws.append(
        [
            "ABC680524P76",
            "Alimentos del Bajío Centro, S.A. de C.V.",
            rp("Y39", 10000),
            "intruso@bajio.mx",
            None,
            None,
            None,
        ]
    )
    ws.append(
        [
            "EKU9003173C9",
            "Empresa Kumo Universal, S.A. de C.V.",
            None,
            "nomina@@kumo.mx",
            None,
            None,
            "800 123 4567",
        ]
    )
    ws.append(
        [
            "ABC680524P76",
            "Alimentos del Bajío Centro, S.A. de C.V.",
            None,
            "a1@bajio.mx",
            "a2@bajio.mx",
            "a3@bajio.mx",
            "044 81 5555 1234",
        ]
    )
    ws.append([])  # an empty row in the middle: ignored
    ws.append(["abc-680524-p76", None, "", "A1@Bajio.MX", "a4@bajio.mx", None, None])
    # A client registered with an email only: it cannot be activated yet (RFC_INCOMPLETO).
    ws.append(
        [
            "MAR920615KJ6",
            "Maquinados del Río, S.A. de C.V.",
            None,
            "contacto@maquinados.mx",
            None,
            None,
            None,
        ]
    )

    long = wb.create_sheet("Altas por medio")
    long.append(
        ["R.F.C.", "Nombre o razón social", "NRP", "Mecanismo de comunicación", "Medio de contacto"]
    )
    long.append(
        [
            "GODE561231GR8",
            "Eduardo González Díaz",
            rp("C45", 10007),
            "Teléfono celular",
            "(33) 3615-0000",
        ]
    )
    long.append(
        [
            "GODE561231GR8",
            "Eduardo González Díaz",
            rp("C45", 10007),
            "Teléfono móvil",
            "33 3615 9999",
        ]
    )
    long.append(
        [
            "GODE561231GR8",
            "Eduardo González Díaz",
            None,
            "Correo electrónico",
            "eduardo.gonzalez@gonzalez.mx",
        ]
    )
    long.append(["GODE561231GR8", "Eduardo González Díaz", None, "Fax", "33 3615 0001"])
    long.append(["ABC680524P76", "Alimentos del Bajío Centro", None, "correo", "a5@bajio.mx"])
    long.append(["ABC680524P76", "Alimentos del Bajío Centro", None, "e-mail", "a6@bajio.mx"])
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Write the sample corporate upload (wide layout, title rows, instructions).",
        epilog="Example: python -m sample_data.make_sample /tmp/carga.xlsx",
    )
    parser.add_argument("out", nargs="?", type=Path, default=OUT, help=f"output path ({OUT.name})")
    print(build(parser.parse_args(argv).out))


if __name__ == "__main__":
    main()
