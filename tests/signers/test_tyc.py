from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from buzon.errors import ConfigError
from buzon.settings import Settings
from signers import tyc


def test_project_text_is_versioned_and_cites_the_legal_bases(settings: Settings) -> None:
    t = tyc.cargar(settings)
    assert (t.version, t.origen) == (tyc.VERSION, "proyecto")
    raw = (Path(tyc.__file__).parent / f"tyc-{tyc.VERSION}.txt").read_bytes()
    assert t.sha256 == hashlib.sha256(raw).hexdigest()
    assert t.texto.encode("utf-8") == raw
    for base in (
        "artículo 5 A, fracciones XXIII y XXIV",
        "286 L",
        "286 M",
        "5.1, 5.6 y 7.8",
        "ACDO.AS2.HCT.230724/261.P.DIR",
        "5 de agosto de 2024",
        "artículo 134, fracción III, del Código Fiscal de la Federación",
        "ACDO.SA2.HCT.280813/234.P.DIR",
        "14 de noviembre de 2013",
    ):
        assert base in t.texto, base
    assert "no es el texto oficial" in t.texto


def test_operator_text_replaces_it(home: Path, tmp_path: Path) -> None:
    oficial = tmp_path / "tyc-oficial.txt"
    oficial.write_bytes("Términos oficiales\r\nsegunda línea\n".encode())
    t = tyc.cargar(Settings(home=home, tyc_file=oficial, tyc_version="2024-08"))
    assert (t.version, t.origen) == ("2024-08", "operador")
    assert t.sha256 == hashlib.sha256(oficial.read_bytes()).hexdigest()
    assert t.texto == "Términos oficiales\r\nsegunda línea\n"  # exact bytes, no normalizing
    sin_version = tyc.cargar(Settings(home=home, tyc_file=oficial))
    assert sin_version.version == f"operador-{t.sha256[:12]}"


def test_unusable_texts_are_config_errors(home: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no se pudo leer"):
        tyc.cargar(Settings(home=home, tyc_file=tmp_path / "no-existe.txt"))
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Términos".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        tyc.cargar(Settings(home=home, tyc_file=latin))
    vacio = tmp_path / "vacio.txt"
    vacio.write_text("  \n")
    with pytest.raises(ConfigError, match="vacío"):
        tyc.cargar(Settings(home=home, tyc_file=vacio))
    with pytest.raises(ConfigError, match="versión 9.9"):
        tyc.cargar(Settings(home=home, tyc_version="9.9"))


def test_project_text_covers_everything_the_guide_text_covers(settings: Settings) -> None:
    texto = tyc.cargar(settings).texto
    for tema in (
        "Fundamento",  # legal basis
        "Obligaciones de la persona particular",  # register and keep the media current
        "Atribución de los actos de personas morales",
        "administrador único",
        "presidente del consejo de administración",
        "Firma conjunta con un representante legal",
        "firma mancomunada",
        "uno inmediatamente después del otro",
        "se atribuye, sin admitir prueba en contrario ante el IMSS, al titular del certificado",
        "Aviso de privacidad simplificado",
        "Ley General de Protección de Datos Personales en Posesión de Sujetos Obligados",
        "revocarla o reponerla de inmediato ante el SAT",
        "no exime de cumplir las obligaciones",
    ):
        assert tema in texto, tema
    # The earlier version stays on disk: acuses issued under it still name its exact text.
    anterior = tyc.cargar(settings.model_copy(update={"tyc_version": "1.0"}))
    assert anterior.version == "1.0" and anterior.sha256 != tyc.cargar(settings).sha256
