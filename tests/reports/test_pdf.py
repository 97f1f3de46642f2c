"""Acuse PDFs: extractable Spanish text with folio, RFC, name, cadena and sello; the demo mark."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest
from cryptography.hazmat.primitives import serialization
from reports_helpers import NOMBRE_A, NOMBRE_C, A, C, Registro, construir

from buzon.settings import Settings
from signers.demo import make_ca
from signers.seal import MARCA_DEMO
from signers.tyc import cargar


def _texto(pdf: Path) -> tuple[str, pypdf.PdfReader]:
    reader = pypdf.PdfReader(pdf)
    return "\n".join(p.extract_text() for p in reader.pages), reader


def _sin_blancos(texto: str) -> str:
    return re.sub(r"\s+", "", texto)


def _cuerpo(texto: str) -> str:
    """The text without each page's mark, footer and page number (they interrupt long text)."""
    pie = re.compile(rf"^({re.escape(MARCA_DEMO)}|Buzón IMSS · acuse \S+|Página \d+)$")
    return "\n".join(ln for ln in texto.splitlines() if not pie.match(ln.strip()))


@pytest.fixture(scope="module")
def exportado(registro_sqlite: Registro, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acuses")
    registro_sqlite.run("acuses", "--out", str(out), "--pdf")
    return out


def test_every_acuse_has_a_pdf_with_its_text(exportado: Path) -> None:
    lineas = [json.loads(x) for x in (exportado / "acuses.jsonl").read_text().splitlines()]
    assert {a["tipo"] for a in lineas} == {
        "registro", "actualizacion", "validacion", "baja", "terminos"
    }  # fmt: skip
    assert len(list((exportado / "pdf").glob("*.pdf"))) == len(lineas)
    for a in lineas:
        texto, reader = _texto(exportado / "pdf" / f"{a['folio']}-{a['tipo']}.pdf")
        plano = _sin_blancos(texto)
        assert a["folio"] in texto and a["rfc"] in texto
        assert _sin_blancos(a["cadena_original"]) in plano
        assert a["sello"] in plano
        assert MARCA_DEMO in texto  # the embedded seal is a demonstration seal
        box = reader.pages[0].mediabox
        assert (round(box.width), round(box.height)) == (595, 842)  # A4
        if a["rfc"] == A:
            assert NOMBRE_A in texto  # & and Ñ extracted as written
        if a["rfc"] == C:
            assert NOMBRE_C in texto and C in texto
        if a["tipo"] == "validacion":
            assert "Folio del registro que se valida:" in texto
            assert a["folio_registro"] in texto
        if a["tipo"] == "terminos":
            assert a["numero_certificado"] in texto and a["firma"] in plano
            tyc = cargar(Settings())
            # the exact text signed, in full
            assert _sin_blancos(tyc.texto) in _sin_blancos(_cuerpo(texto))
            assert tyc.sha256 in texto


def test_same_acuse_same_bytes_and_letter_size(registro_sqlite: Registro, tmp_path: Path) -> None:
    registro_sqlite.run("acuses", "--out", str(tmp_path / "a"), "--pdf")
    registro_sqlite.run("acuses", "--out", str(tmp_path / "b"), "--pdf", "--pagina", "letter")
    registro_sqlite.run("acuses", "--out", str(tmp_path / "c"), "--pdf")
    for pdf in (tmp_path / "a" / "pdf").glob("*.pdf"):
        assert pdf.read_bytes() == (tmp_path / "c" / "pdf" / pdf.name).read_bytes()
        box = pypdf.PdfReader(tmp_path / "b" / "pdf" / pdf.name).pages[0].mediabox
        assert (round(box.width), round(box.height)) == (612, 792)


def _sello_configurado(folder: Path) -> tuple[Path, Path]:
    """An operator's seal: a key and certificate whose subject says nothing of a demonstration."""
    ac = make_ca(datetime.now(UTC), nombre="Sello institucional de pruebas")
    folder.mkdir(parents=True, exist_ok=True)
    kp, cp = folder / "sello.key", folder / "sello.pem"
    kp.write_bytes(
        ac.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cp.write_bytes(ac.pem)
    return kp, cp


def test_a_configured_seal_prints_no_demo_mark(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    kp, cp = _sello_configurado(tmp_path / "llaves")
    reg = construir(Settings(home=home, seal_key=kp, seal_cert=cp), tmp_path)
    reg.run("acuses", "--out", str(tmp_path / "out"), "--pdf")
    pdfs = list((tmp_path / "out" / "pdf").glob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        texto, _ = _texto(pdf)
        assert "DEMOSTRACIÓN" not in texto and "SIN VALIDEZ" not in texto
