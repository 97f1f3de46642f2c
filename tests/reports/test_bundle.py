"""Bundles: round trip, determinism, the bagit validator, no secrets, and every tampering
detected by ``buzon verify``."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest
from reports_helpers import A, B, C, Registro
from sqlalchemy import select

from registry.db import get_engine
from registry.tables import medios, outbox
from reports.bundle import FIRMA, MANIFEST, TAG_FILES, TAGMANIFEST
from reports.safe import rfc_filename
from reports.verify import verify_paths
from signers.seal import Sello


@pytest.fixture(scope="module")
def reporte(registro_sqlite: Registro, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rep")
    data = json.loads(registro_sqlite.run("report", "--out", str(out), "--json").output)
    assert sorted(Path(f).name for f in data["files"] if f.endswith(".zip")) == sorted(
        f"{rfc_filename(r)}.zip" for r in (A, B, C)
    )
    return out / "acuses"


def _verify(reg: Registro, *paths: Path) -> tuple[int, dict]:
    result = reg.run("verify", *map(str, paths), "--json", code=None)
    return result.exit_code, json.loads(result.output)


def test_round_trip(registro_sqlite: Registro, reporte: Path) -> None:
    zips = sorted(reporte.glob("*.zip"))
    code, data = _verify(registro_sqlite, *zips)
    assert (code, data) == (0, {"ok": True, "checked": 3, "failures": []})
    assert (reporte / "AyN800101AB1.zip").exists() is False  # & -> y, Ñ -> n (lower case)
    assert (reporte / "Any800101AB1.zip").exists()
    with zipfile.ZipFile(reporte / f"{A}.zip") as zf:
        names = zf.namelist()
    top = f"acuses-{A}/"
    assert all(n.startswith(top) for n in names)
    assert {n[len(top) :] for n in names} >= {*TAG_FILES, TAGMANIFEST, "data/acuses.jsonl"}
    kinds = {n.rsplit("-", 1)[1] for n in names if n.startswith(top + "data/acuses/")}
    assert kinds == {"registro.pdf", "actualizacion.pdf", "validacion.pdf", "baja.pdf",
                     "terminos.pdf"}  # fmt: skip
    assert any(n.startswith(top + "data/certificados/") for n in names)
    assert any(n.startswith(top + "data/terminos/") for n in names)
    # The text output names every path with its verdict.
    out = registro_sqlite.run("verify", *map(str, zips)).output
    assert out.count("CORRECTO") == 3 and "sello de demostración" in out


def test_deterministic(registro_sqlite: Registro, reporte: Path, tmp_path: Path) -> None:
    registro_sqlite.run("acuses", "--out", str(tmp_path / "otra"), "--bundles")
    for z in reporte.glob("*.zip"):
        assert z.read_bytes() == (tmp_path / "otra" / "acuses" / z.name).read_bytes()


def test_bagit_validator_accepts_the_bag(reporte: Path, tmp_path: Path) -> None:
    for z in reporte.glob("*.zip"):
        with zipfile.ZipFile(z) as zf:
            zf.extractall(tmp_path / z.stem)
            (top,) = {n.split("/", 1)[0] for n in zf.namelist()}
        bag = bagit.Bag(str(tmp_path / z.stem / top))
        bag.validate()
        assert bag.info["RFC"] in (A, B, C)


def test_no_secrets_in_bundles_or_report(registro_sqlite: Registro, reporte: Path) -> None:
    s = registro_sqlite.settings
    with get_engine(s).connect() as conn:
        secretos = [n for n in conn.execute(select(outbox.c.nonce)).scalars() if n]
        secretos += [h for h in conn.execute(select(medios.c.secreto_hash)).scalars() if h]
    assert secretos
    keystore = registro_sqlite.tmp / "efirmas" / "passwords.csv"
    passwords = [ln.split(",", 1)[1] for ln in keystore.read_text().splitlines()[1:]]
    assert passwords
    blobs = [z.read_bytes() for z in reporte.glob("*.zip")]
    for z in reporte.glob("*.zip"):
        with zipfile.ZipFile(z) as zf:
            blobs += [zf.read(n) for n in zf.namelist()]
    blobs += [p.read_bytes() for p in reporte.parent.iterdir() if p.is_file()]
    for blob in blobs:
        assert b"PRIVATE KEY" not in blob
        for secreto in secretos + passwords:
            assert secreto.encode() not in blob


# --- tampering ---------------------------------------------------------------------------


def _rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    with zipfile.ZipFile(src) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    change(files)
    with zipfile.ZipFile(dst, "w") as zf:
        for n, b in files.items():
            zf.writestr(n, b)


def _primero(files: dict[str, bytes], carpeta: str) -> str:
    return sorted(n for n in files if f"/data/{carpeta}/" in n)[0]


def _flip_pdf(files: dict[str, bytes]) -> None:
    n = _primero(files, "acuses")
    b = bytearray(files[n])
    b[len(b) // 2] ^= 0x01
    files[n] = bytes(b)


def _add(files: dict[str, bytes]) -> None:
    top = next(iter(files)).split("/", 1)[0]
    files[f"{top}/data/acuses/extra.pdf"] = b"%PDF-1.4 nada"


def _remove(files: dict[str, bytes]) -> None:
    del files[_primero(files, "sellos")]


def _edit_manifest(files: dict[str, bytes]) -> None:
    n = next(k for k in files if k.endswith("/" + MANIFEST))
    lines = files[n].decode().splitlines(keepends=True)
    lines[0] = ("0" * 64) + lines[0][64:]
    files[n] = "".join(lines).encode()


def _swap_sellos(files: dict[str, bytes]) -> None:
    a, b = sorted(n for n in files if "/data/sellos/" in n)[:2]
    files[a], files[b] = files[b], files[a]


def _dotdot(files: dict[str, bytes]) -> None:
    files["../fuera.txt"] = b"x"


CASOS = {
    "pdf con un byte cambiado": (_flip_pdf, "data/acuses/", "SHA-256"),
    "archivo añadido": (_add, "data/acuses/extra.pdf", "de más"),
    "archivo quitado": (_remove, "data/sellos/", "falta"),
    "manifiesto editado": (_edit_manifest, MANIFEST, "firma del manifiesto"),
    "sellos intercambiados": (_swap_sellos, "data/sellos/", "SHA-256"),
    "entrada con ..": (_dotdot, "../fuera.txt", ".."),
}


@pytest.mark.parametrize("caso", list(CASOS))
def test_tampering_is_detected(
    caso: str, registro_sqlite: Registro, reporte: Path, tmp_path: Path
) -> None:
    change, archivo, motivo = CASOS[caso]
    bad = tmp_path / "malo.zip"
    _rewrite(reporte / f"{A}.zip", bad, change)
    code, data = _verify(registro_sqlite, reporte / f"{B}.zip", bad)
    assert code == 1 and data["ok"] is False and data["checked"] == 2
    assert {f["path"] for f in data["failures"]} == {str(bad)}
    assert any(f["file"].startswith(archivo) and motivo in f["reason"] for f in data["failures"]), (
        data["failures"]
    )
    out = registro_sqlite.run("verify", str(bad), code=1).output
    assert "FALLA" in out and str(bad) in out


def test_swapped_sello_with_a_resigned_manifest(
    registro_sqlite: Registro, reporte: Path, tmp_path: Path
) -> None:
    """Even someone holding the institution key cannot swap sellos: each sello is checked."""
    sello = Sello.load(registro_sqlite.settings)

    def swap_and_resign(files: dict[str, bytes]) -> None:
        _swap_sellos(files)
        top = next(iter(files)).split("/", 1)[0]
        data = {n[len(top) + 1 :]: b for n, b in files.items() if "/data/" in n}
        manifest = "".join(
            f"{hashlib.sha256(b).hexdigest()}  {p}\n" for p, b in sorted(data.items())
        ).encode()
        files[f"{top}/{MANIFEST}"] = manifest
        files[f"{top}/{FIRMA}"] = (sello.sign_bytes(manifest) + "\n").encode()
        files[f"{top}/{TAGMANIFEST}"] = "".join(
            f"{hashlib.sha256(files[f'{top}/{t}']).hexdigest()}  {t}\n" for t in sorted(TAG_FILES)
        ).encode()

    bad = tmp_path / "resellado.zip"
    _rewrite(reporte / f"{A}.zip", bad, swap_and_resign)
    data = verify_paths([bad])
    reasons = {(f["file"].split("/")[1], f["reason"]) for f in data["failures"]}
    assert not data["ok"]
    assert ("sellos", "el sello no corresponde a la cadena original") in reasons


def test_symlink_entry_is_refused(registro_sqlite: Registro, reporte: Path, tmp_path: Path) -> None:
    bad = tmp_path / "enlace.zip"
    _rewrite(reporte / f"{A}.zip", bad, lambda files: None)
    with zipfile.ZipFile(bad, "a") as zf:
        info = zipfile.ZipInfo(f"acuses-{A}/data/enlace")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    data = verify_paths([bad])
    assert any(f["reason"] == "enlace simbólico" for f in data["failures"])


def test_export_sellos(registro_sqlite: Registro, tmp_path: Path) -> None:
    registro_sqlite.run("acuses", "--out", str(tmp_path / "exp"))
    jsonl = tmp_path / "exp" / "acuses.jsonl"
    assert verify_paths([jsonl]) == {"ok": True, "checked": 1, "failures": []}
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    lines[0]["sello"], lines[1]["sello"] = lines[1]["sello"], lines[0]["sello"]
    jsonl.write_text("".join(json.dumps(x) + "\n" for x in lines))
    code, data = _verify(registro_sqlite, jsonl)
    assert code == 1
    assert [f["file"] for f in data["failures"]] == ["acuses.jsonl:1", "acuses.jsonl:2"]


def test_worker_processes_make_the_same_bytes(
    registro_sqlite: Registro, reporte: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports import bundle

    monkeypatch.setattr(bundle, "EN_PROCESO", 0)  # even this small store goes to the workers
    monkeypatch.setattr(bundle, "POR_TAREA", 1)  # one RFC per task
    paths = bundle.escribir_bundles(registro_sqlite.settings, tmp_path / "w", workers=2)
    assert len(paths) == 3
    for p in paths:
        assert p.read_bytes() == (reporte / p.name).read_bytes()
