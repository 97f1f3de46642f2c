"""The request folder a holder signs: parsing, signing, reading back (no store involved)."""

from __future__ import annotations

import base64
import doctest
from pathlib import Path

import pytest

from buzon.errors import EfirmaArchivoInvalido, EfirmaFirmaInvalida, SolicitudDesconocida
from signers import solicitud as sol
from signers.efirma import Efirma

CADENA = (
    "||SOLICITUD-TERMINOS|1.0|BI-20250301-060000000|2025-03-01T00:00:00-06:00|"
    "XIQB891116QE4|1.1|" + "ab" * 32 + "||"
)


def test_docstring_examples() -> None:
    result = doctest.testmod(sol)
    assert result.attempted > 0 and result.failed == 0


def test_sign_and_read_back(sat, tmp_path: Path) -> None:  # noqa: ANN001
    par = sat["fisica"]
    folder = tmp_path / par.rfc
    folder.mkdir()
    (folder / "cadena.txt").write_bytes(CADENA.encode())
    assert sol.read_entrega(folder) is None  # nobody signed yet
    efirma = Efirma.load(par.cer, par.key, par.password)
    assert sol.sign_solicitud(folder, efirma) == folder
    entrega = sol.read_entrega(folder)
    assert entrega is not None and entrega.rfc == par.rfc and entrega.representante is None
    assert entrega.cadena == CADENA.encode() and entrega.titular is not None
    assert efirma.certificado.verify(entrega.cadena, entrega.titular.firma)
    # base64 tools wrap lines: the firma reads the same.
    raw = base64.b64decode(entrega.titular.firma)
    wrapped = base64.encodebytes(raw)
    assert b"\n" in wrapped[:-1]
    (folder / "firma.b64").write_bytes(wrapped)
    assert sol.read_entrega(folder).titular.firma == entrega.titular.firma  # type: ignore[union-attr]
    # ... and so do the raw bytes `openssl dgst -sign -out firma.b64` would leave.
    (folder / "firma.b64").write_bytes(raw)
    assert sol.read_entrega(folder).titular.firma == entrega.titular.firma  # type: ignore[union-attr]


def test_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(SolicitudDesconocida):
        sol.parse_cabecera(b"||3.1|BI-1|x||")
    with pytest.raises(SolicitudDesconocida, match="falta cadena.txt"):
        sol.read_cadena(tmp_path)
    (tmp_path / "cadena.txt").write_bytes(CADENA.encode())
    (tmp_path / "firma.b64").write_text("no es base64 ***")
    (tmp_path / "efirma.cer").write_bytes(b"x")
    with pytest.raises(EfirmaFirmaInvalida, match="base64"):
        sol.read_entrega(tmp_path)
    (tmp_path / "efirma.cer").unlink()
    (tmp_path / "firma.b64").write_text("QUJD")
    with pytest.raises(EfirmaArchivoInvalido, match="falta efirma.cer"):
        sol.read_entrega(tmp_path)
