"""Acuse PDFs with reportlab's canvas: one printable page (A4 or Letter) per acuse, more when
its RPs or its Terms and Conditions text need them.

Helvetica/Courier with WinAnsi encoding cover Spanish (á é í ó ú ü ñ Ñ « » — &), so the text is
extractable as written. ``invariant=1`` fixes the document id and dates: the same acuse always
gives the same bytes (bundles are reproducible).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.utils import simpleSplit as _simple_split
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from buzon.errors import RegistryError
from registry.acuses import campos
from signers.seal import MARCA_DEMO

TZ = ZoneInfo("America/Mexico_City")
PAGINAS = {"a4": A4, "letter": LETTER}

TITULOS = {
    "registro": "Acuse de registro o actualización de mecanismos de comunicación",
    "actualizacion": "Acuse de registro o actualización de mecanismos de comunicación",
    "validacion": "Acuse de validación de mecanismos de comunicación",
    "baja": "Acuse de baja de mecanismos de comunicación",
    "terminos": "Acuse de términos y condiciones para el uso del Buzón IMSS",
}
HECHO = {
    "registro": "quedó registrado el mecanismo de comunicación que se describe a continuación",
    "actualizacion": (
        "quedó actualizado el mecanismo de comunicación que se describe a continuación"
    ),
    "validacion": "quedó validado el mecanismo de comunicación que se describe a continuación",
    "baja": "se dio de baja el mecanismo de comunicación que se describe a continuación",
    "terminos": (
        "la persona particular aceptó, firmándolos con su e.firma, los términos y condiciones "
        "para el uso del Buzón IMSS que se reproducen a continuación"
    ),
}
# The project's own wording of the legal bases (facts in docs/FOLIOS_Y_ACUSES.md).
FUNDAMENTO = (
    "Con fundamento en los artículos 5 A, fracciones XXIII y XXIV, 286 L y 286 M de la Ley del "
    "Seguro Social; en los numerales 5.1, 5.6 y 7.8 de los Lineamientos para la operación del "
    "Buzón IMSS (Acuerdo ACDO.AS2.HCT.230724/261.P.DIR, publicado en el Diario Oficial de la "
    "Federación el 5 de agosto de 2024), y en las Reglas para el uso de la Firma Electrónica "
    "Avanzada ante el Instituto (Acuerdo ACDO.SA2.HCT.280813/234.P.DIR, publicado en el Diario "
    "Oficial de la Federación el 14 de noviembre de 2013), se hace constar que {hecho}."
)
CONFIDENCIALIDAD = (
    "La persona particular se obliga a mantener en estricta reserva la información que conozca "
    "por el uso del Buzón IMSS y responde, en los términos de las leyes aplicables, de su "
    "divulgación, alteración o uso indebido. Este acuse da constancia de la información recibida; "
    "no prejuzga sobre su veracidad ni sobre su contenido. Los datos personales se tratan "
    "conforme a la legislación de protección de datos personales y de confidencialidad aplicable."
)
ESTADOS = {
    "registrado": "Registrado (en proceso de validación)",
    "enviado": "En proceso de validación",
    "validado": "Validado",
    "baja": "Baja",
    "vencido": "Vencido",
    "cancelado": "Cancelado",
    "no_entregado": "No entregado",
    "aceptado": "Términos y condiciones aceptados",
}
MECANISMOS = {"correo": "Correo electrónico", "telefono": "Número de teléfono celular"}
MESES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


@lru_cache(maxsize=4096)
def simpleSplit(texto: str, font: str, size: float, ancho: float) -> list[str]:  # noqa: N802
    """reportlab's word wrap, remembered: the legal paragraphs are the same on every acuse."""
    return _simple_split(texto, font, size, ancho)


def fecha_en_letra(instant: datetime) -> str:
    """``6 de agosto de 2024, 14:20:07 h`` in Mexico City time (naive = UTC).

    >>> fecha_en_letra(datetime(2024, 8, 6, 20, 20, 7, tzinfo=UTC))
    '6 de agosto de 2024, 14:20:07 h'
    """
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    t = instant.astimezone(TZ)
    return f"{t.day} de {MESES[t.month - 1]} de {t.year}, {t:%H:%M:%S} h"


class _Hoja:
    """A canvas that writes lines top-down and starts a new page when one is full.

    All of a page's lines go into one text object (one ``BT … ET``): ~2× faster than one
    ``drawString`` per line, which is what makes hundreds of acuses a second per core.
    """

    def __init__(self, buffer: io.BytesIO, pagesize: tuple[float, float], pie: str, demo: bool):
        self.c = canvas.Canvas(buffer, pagesize=pagesize, invariant=1, pageCompression=0)
        self.ancho, self.alto = pagesize
        self.margen = 50
        self.util = self.ancho - 2 * self.margen
        self.pie = pie
        self.demo = demo
        self.pagina = 1
        self._empezar()

    def _empezar(self) -> None:
        c = self.c
        if self.demo:
            c.saveState()
            c.setFillColorRGB(0.85, 0.1, 0.1, alpha=0.18)
            c.setFont("Helvetica-Bold", 30)
            c.translate(self.ancho / 2, self.alto / 2)
            c.rotate(40)
            c.drawCentredString(0, 0, MARCA_DEMO)
            c.restoreState()
            c.setFillColorRGB(0.75, 0.05, 0.05)
            c.setFont("Helvetica-Bold", 9)
            c.drawCentredString(self.ancho / 2, self.alto - 22, MARCA_DEMO)
        c.setFillColorRGB(0.45, 0.45, 0.45)
        c.setFont("Helvetica", 7.5)
        c.drawString(self.margen, 24, self.pie)
        c.drawRightString(self.ancho - self.margen, 24, f"Página {self.pagina}")
        c.setFillColorRGB(0, 0, 0)
        self.t = c.beginText()
        self._font: tuple[str, float] | None = None
        self.y = self.alto - 48

    def _terminar(self) -> None:
        self.c.drawText(self.t)

    def salto(self, alto: float) -> None:
        if self.y - alto < 44:
            self._terminar()
            self.c.showPage()
            self.pagina += 1
            self._empezar()

    def _texto(self, x: float, y: float, texto: str, font: str, size: float) -> None:
        if self._font != (font, size):
            self.t.setFont(font, size)
            self._font = (font, size)
        self.t.setTextOrigin(x, y)
        self.t.textOut(texto)

    def linea(self, texto: str, font: str = "Helvetica", size: float = 9, gap: float = 2) -> None:
        self.salto(size + gap)
        self._texto(self.margen, self.y - size, texto, font, size)
        self.y -= size + gap

    def parrafo(self, texto: str, font: str = "Helvetica", size: float = 9) -> None:
        for parte in texto.split("\n"):
            for ln in simpleSplit(parte, font, size, self.util) or [""]:
                self.linea(ln, font, size)

    def corrido(self, texto: str, size: float = 7) -> None:
        """Text without spaces (base64, cadenas) cut by width, in Courier."""
        por_linea = max(int(self.util / (0.6 * size)), 10)
        for i in range(0, len(texto), por_linea):
            self.linea(texto[i : i + por_linea], "Courier", size, 1.5)

    def campo(self, etiqueta: str, valor: str) -> None:
        size = 9
        self.salto(size + 3)
        self._texto(self.margen, self.y - size, etiqueta, "Helvetica-Bold", size)
        x = self.margen + _ancho(etiqueta, "Helvetica-Bold", size) + 4
        lineas = simpleSplit(valor, "Helvetica", size, self.ancho - self.margen - x) or [""]
        self._texto(x, self.y - size, lineas[0], "Helvetica", size)
        self.y -= size + 3
        for ln in lineas[1:]:
            self.salto(size + 3)
            self._texto(x, self.y - size, ln, "Helvetica", size)
            self.y -= size + 3

    def titulo(self, texto: str, size: float = 10.5) -> None:
        self.y -= 6
        self.salto(size + 6)
        self.t.setFillColorRGB(0.12, 0.31, 0.47)
        self._texto(self.margen, self.y - size, texto, "Helvetica-Bold", size)
        self.t.setFillColorRGB(0, 0, 0)
        self.y -= size + 5

    def cerrar(self) -> None:
        self._terminar()
        self.c.showPage()
        self.c.save()


@lru_cache(maxsize=256)
def _ancho(texto: str, font: str, size: float) -> float:
    return stringWidth(texto, font, size)


def _rps(valor: Any) -> list[str]:
    if not valor:
        return []
    if isinstance(valor, str):
        return [r for r in valor.split(",") if r]
    return list(valor)


def acuse_pdf(
    acuse: dict[str, Any],
    *,
    demo: bool,
    terminos: str | None = None,
    pagina: str = "a4",
) -> bytes:
    """The PDF of one acuse (a row of ``acuses`` or a line of ``acuses.jsonl``).

    ``terminos``: for a T&C acuse, the exact text signed. ``demo``: print the demonstration mark.
    """
    tipo = acuse["tipo"]
    fecha = acuse["fecha"]
    if isinstance(fecha, str):
        fecha = datetime.fromisoformat(fecha)
    buffer = io.BytesIO()
    h = _Hoja(buffer, PAGINAS[pagina], f"Buzón IMSS · acuse {acuse['folio']}", demo)
    c = h.c
    c.setTitle(TITULOS[tipo])
    c.setAuthor("buzon-masivo")
    c.setSubject(acuse["folio"])
    h.linea("Buzón IMSS · activación masiva de medios de contacto", "Helvetica", 8.5)
    h.y -= 4
    for ln in simpleSplit(TITULOS[tipo], "Helvetica-Bold", 14, h.util):
        h.linea(ln, "Helvetica-Bold", 14, 4)
    h.y -= 2
    h.campo("Fecha:", fecha_en_letra(fecha) + " (hora del centro de México)")
    h.campo("Folio:", acuse["folio"])

    h.titulo("Contenido del acuse")
    h.parrafo(FUNDAMENTO.format(hecho=HECHO[tipo]))

    h.titulo("Datos de identificación de la persona particular")
    h.campo("RFC:", acuse["rfc"])
    h.campo("Nombre, denominación o razón social:", acuse.get("nombre") or "")

    if tipo == "terminos":
        h.titulo("Firma electrónica avanzada del particular")
        h.campo("Número de certificado de la e.firma:", acuse.get("numero_certificado") or "")
        h.campo("Versión de los términos y condiciones:", _campo_cadena(acuse, "tyc_version"))
        h.campo("SHA-256 del texto firmado:", _campo_cadena(acuse, "tyc_sha256"))
        h.campo("Estado:", ESTADOS.get(acuse["estado"], acuse["estado"]))
        h.linea("Firma digital del particular:", "Helvetica-Bold", 9)
        h.corrido(acuse.get("firma") or "")
    else:
        h.titulo("Información del mecanismo de comunicación")
        mecanismo = acuse.get("mecanismo") or ""
        h.campo(MECANISMOS.get(mecanismo, "Medio") + ":", acuse.get("medio") or "")
        h.campo("Estado:", ESTADOS.get(acuse["estado"], acuse["estado"]))
        if tipo == "validacion":
            h.campo("Folio del registro que se valida:", acuse.get("folio_registro") or "")
        rps = _rps(acuse.get("rps"))
        h.campo(
            "Registro(s) patronal(es) asociado(s):",
            ", ".join(rps) if rps else "ninguno (medio del RFC)",
        )

    h.titulo("Confidencialidad")
    h.parrafo(CONFIDENCIALIDAD, size=8)

    h.titulo("Sello digital")
    h.corrido(acuse["sello"])
    version = acuse["cadena_original"][2:].split("|", 1)[0]
    h.titulo(f"Cadena original (versión {version})")
    h.corrido(acuse["cadena_original"])

    if tipo == "terminos":
        h.titulo("Texto de los términos y condiciones firmado")
        h.parrafo(
            terminos if terminos is not None else "(texto no disponible en el registro)", size=8
        )
    h.cerrar()
    return buffer.getvalue()


def _campo_cadena(acuse: dict[str, Any], nombre: str) -> str:
    if acuse.get(nombre):
        return str(acuse[nombre])
    try:
        return campos(acuse["cadena_original"]).get(nombre, "")
    except RegistryError:  # an unreadable cadena prints as empty; `buzon verify` reports it
        return ""


def nombres(acuses: Sequence[dict[str, Any]]) -> list[str]:
    """``<folio>-<tipo>`` of each acuse (the file stem used in bundles and ``--pdf``)."""
    return [f"{a['folio']}-{a['tipo']}" for a in acuses]
