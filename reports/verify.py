"""``buzon verify``: check bundles (``<RFC>.zip``) and ``acuses.jsonl`` exports.

A bundle passes when: its entries are safe (no absolute or ``..`` paths, no links, no
duplicates, one top folder); the manifest's signature verifies with the institution
certificate (the bag's own ``data/sello.pem``, or the one given); the payload is exactly the
manifest's (nothing extra, nothing missing) with every SHA-256 equal; the tag manifest and
``Payload-Oxum`` agree; every sello verifies over its cadena's exact bytes; every T&C firma
verifies with its FIEL certificate; every T&C text has the digest its cadena sealed. An export
passes when every sello (and firma) verifies with the ``sello.pem`` (``certificados/``) beside it.
"""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography import x509

from buzon.errors import RegistryError
from registry.acuses import campos
from reports.bundle import FIRMA, MANIFEST, TAG_FILES, TAGMANIFEST
from signers.seal import es_demo, verifica
from signers.solicitud import verify_firmas


@dataclass
class Resultado:
    path: str
    fallas: list[dict[str, str]] = field(default_factory=list)
    acuses: int = 0
    demo: bool = False

    def falla(self, archivo: str, motivo: str) -> None:
        self.fallas.append({"path": self.path, "file": archivo, "reason": motivo})


def _cert(data: bytes) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        return None


def _entrada_insegura(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "ruta absoluta"
    if "\\" in name:
        return "ruta con barra invertida"
    if ".." in PurePosixPath(name).parts:
        return "ruta con '..'"
    modo = info.external_attr >> 16
    if stat.S_ISLNK(modo):
        return "enlace simbólico"
    # Many tools store only permission bits (no file type): those are plain files.
    if stat.S_IFMT(modo) and not (stat.S_ISREG(modo) or stat.S_ISDIR(modo)):
        return "entrada que no es un archivo"
    return None


def _manifiesto(texto: bytes, res: Resultado, nombre: str) -> dict[str, str] | None:
    out: dict[str, str] = {}
    try:
        lineas = texto.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        res.falla(nombre, "el manifiesto no está en UTF-8")
        return None
    for ln in lineas:
        partes = ln.split(None, 1)
        if len(partes) != 2 or len(partes[0]) != 64:
            res.falla(nombre, f"línea de manifiesto mal formada: {ln[:80]!r}")
            return None
        out[partes[1].strip()] = partes[0].lower()
    return out


def _acuses(files: dict[str, bytes], cert: x509.Certificate, res: Resultado) -> None:
    """Sellos against cadenas, firmas against FIEL certificates, T&C texts against digests."""
    cadenas = {
        p[len("data/cadenas/") : -4]: b for p, b in files.items() if p.startswith("data/cadenas/")
    }
    sellos = {
        p[len("data/sellos/") : -4]: b for p, b in files.items() if p.startswith("data/sellos/")
    }
    pdfs = {p[len("data/acuses/") : -4] for p in files if p.startswith("data/acuses/")}
    for stem in sorted(set(cadenas) | set(sellos) | pdfs):
        if stem not in cadenas or stem not in sellos or stem not in pdfs:
            res.falla(f"data/acuses/{stem}.pdf", "acuse incompleto (falta su PDF, cadena o sello)")
            continue
        if not verifica(cert, cadenas[stem], sellos[stem].decode("ascii", "replace").strip()):
            res.falla(f"data/sellos/{stem}.txt", "el sello no corresponde a la cadena original")
        res.acuses += 1
    textos = {
        hashlib.sha256(b).hexdigest(): p for p, b in files.items() if p.startswith("data/terminos/")
    }
    try:
        lineas = [json.loads(x) for x in files.get("data/acuses.jsonl", b"").decode().splitlines()]
    except (UnicodeDecodeError, json.JSONDecodeError):
        res.falla("data/acuses.jsonl", "acuses.jsonl no es JSON Lines válido")
        return
    if len(lineas) != len(cadenas):
        res.falla("data/acuses.jsonl", "acuses.jsonl no lista los mismos acuses que cadenas/")
    for item in lineas:
        stem = f"{item.get('folio')}-{item.get('tipo')}"
        cadena = cadenas.get(stem)
        if cadena is None or item.get("cadena_original", "").encode("utf-8") != cadena:
            res.falla("data/acuses.jsonl", f"la cadena de {stem} no es la de cadenas/")
            continue
        if item.get("sello", "").encode("ascii", "replace") != sellos.get(stem, b"").strip():
            res.falla("data/acuses.jsonl", f"el sello de {stem} no es el de sellos/")
        _firma_y_texto(item, cadena, files, textos, res, stem)


def _firma_y_texto(
    item: dict[str, Any],
    cadena: bytes,
    files: dict[str, bytes],
    textos: dict[str, str] | None,
    res: Resultado,
    stem: str,
) -> None:
    try:
        c = campos(cadena.decode("utf-8"))
    except (RegistryError, UnicodeDecodeError):
        res.falla(f"data/cadenas/{stem}.txt", "cadena original mal formada")
        return
    if (c["folio"], c["tipo"], c["rfc"]) != (item.get("folio"), item.get("tipo"), item.get("rfc")):
        res.falla(f"data/cadenas/{stem}.txt", "la cadena no es del folio, tipo o RFC del acuse")
    if item.get("tipo") != "terminos":
        return
    firmada = item.get("cadena_firmada")
    if firmada is not None:  # the sealed cadena binds the signed request by its digest
        digest = hashlib.sha256(firmada.encode("utf-8")).hexdigest()
        if c.get("cadena_firmada_sha256") != digest:
            res.falla("data/acuses.jsonl", f"la solicitud firmada de {stem} no es la sellada")

    def pem(numero: str) -> str | None:
        raw = files.get(f"data/certificados/{numero}.pem")
        return raw.decode("ascii", "replace") if raw else None

    # Every firma (the particular's, a representative's) over the exact bytes it covers.
    for razon in verify_firmas(item, pem):
        numero = item.get("numero_certificado") or item.get("numero_certificado_representante")
        res.falla(f"data/certificados/{numero}.pem", f"{stem}: {razon}")
    if textos is not None and c.get("tyc_sha256") not in textos:
        res.falla("data/terminos/", f"falta el texto firmado de los términos de {stem}")


def verify_bundle(path: Path, cert_pem: bytes | None = None) -> Resultado:
    res = Resultado(str(path))
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        res.falla("", f"no es un ZIP legible ({exc})")
        return res
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        nombres = [i.filename for i in infos]
        for info in zf.infolist():
            motivo = _entrada_insegura(info)
            if motivo:
                res.falla(info.filename, motivo)
        if len(set(nombres)) != len(nombres):
            res.falla("", "entradas repetidas en el ZIP")
        if res.fallas:
            return res
        tops = {n.split("/", 1)[0] for n in nombres}
        if len(tops) != 1 or any("/" not in n for n in nombres):
            res.falla("", "el ZIP debe tener una sola carpeta superior (la bolsa)")
            return res
        (top,) = tops
        try:
            files = {n[len(top) + 1 :]: zf.read(n) for n in nombres}
        except (zipfile.BadZipFile, OSError) as exc:  # a CRC error: bytes changed in place
            res.falla("", f"el ZIP está dañado ({exc})")
            return res
    for t in (*TAG_FILES, TAGMANIFEST):
        if t not in files:
            res.falla(t, "falta el archivo de la bolsa")
    if res.fallas:
        return res
    cert = _cert(cert_pem if cert_pem is not None else files.get("data/sello.pem", b""))
    if cert is None:
        res.falla("data/sello.pem", "no hay un certificado del sello legible")
        return res
    res.demo = es_demo(cert)
    if cert_pem is not None and files.get("data/sello.pem", b"").strip() != cert_pem.strip():
        res.falla("data/sello.pem", "el certificado de la bolsa no es el indicado")
    firma = files[FIRMA].decode("ascii", "replace").strip()
    if not verifica(cert, files[MANIFEST], firma):
        res.falla(MANIFEST, "la firma del manifiesto no corresponde (manifiesto alterado)")
    manifest = _manifiesto(files[MANIFEST], res, MANIFEST)
    tagman = _manifiesto(files[TAGMANIFEST], res, TAGMANIFEST)
    if manifest is None or tagman is None:
        return res
    payload = {p for p in files if p.startswith("data/")}
    otros = set(files) - payload - set(TAG_FILES) - {TAGMANIFEST}
    for p in sorted(otros):
        res.falla(p, "archivo que no pertenece a la bolsa")
    for p in sorted(payload - set(manifest)):
        res.falla(p, "archivo de más: no está en el manifiesto")
    for p in sorted(set(manifest) - payload):
        res.falla(p, "falta el archivo listado en el manifiesto")
    for p in sorted(payload & set(manifest)):
        if hashlib.sha256(files[p]).hexdigest() != manifest[p]:
            res.falla(p, "el SHA-256 no coincide con el manifiesto (archivo alterado)")
    for t in TAG_FILES:
        if tagman.get(t) != hashlib.sha256(files[t]).hexdigest():
            res.falla(t, "no coincide con el manifiesto de etiquetas")
    for p in sorted(set(tagman) - set(TAG_FILES)):
        res.falla(TAGMANIFEST, f"lista un archivo desconocido: {p}")
    oxum = f"{sum(len(files[p]) for p in payload)}.{len(payload)}"
    if f"Payload-Oxum: {oxum}" not in files["bag-info.txt"].decode("utf-8", "replace"):
        res.falla("bag-info.txt", "Payload-Oxum no coincide con el contenido")
    _acuses(files, cert, res)
    return res


def verify_export(path: Path, cert_pem: bytes | None = None) -> Resultado:
    """An ``acuses.jsonl`` (or the folder holding it) against the ``sello.pem`` beside it."""
    jsonl = path / "acuses.jsonl" if path.is_dir() else path
    res = Resultado(str(path))
    carpeta = jsonl.parent
    try:
        pem = cert_pem if cert_pem is not None else (carpeta / "sello.pem").read_bytes()
        texto = jsonl.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        res.falla(jsonl.name, f"no se puede leer ({exc})")
        return res
    cert = _cert(pem)
    if cert is None:
        res.falla("sello.pem", "no hay un certificado del sello legible")
        return res
    res.demo = es_demo(cert)
    certs: dict[str, bytes] = {}
    for n, ln in enumerate(texto.splitlines(), start=1):
        try:
            item = json.loads(ln)
            cadena = item["cadena_original"].encode("utf-8")
            sello = item["sello"]
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            res.falla(f"{jsonl.name}:{n}", "línea que no es un acuse")
            continue
        res.acuses += 1
        stem = f"{item.get('folio')}-{item.get('tipo')}"
        if not verifica(cert, cadena, sello):
            res.falla(f"{jsonl.name}:{n}", f"el sello de {stem} no corresponde a su cadena")
        for clave in ("numero_certificado", "numero_certificado_representante"):
            numero = item.get(clave)
            if item.get("tipo") == "terminos" and numero and numero not in certs:
                ruta = carpeta / "certificados" / f"{numero}.pem"
                certs[numero] = ruta.read_bytes() if ruta.is_file() else b""
        files = {f"data/certificados/{k}.pem": v for k, v in certs.items() if v}
        _firma_y_texto(item, cadena, files, None, res, stem)
    return res


def verify_paths(paths: list[Path], cert_pem: bytes | None = None) -> dict[str, Any]:
    """The ``buzon verify --json`` object; ``cert_pem`` pins the institution certificate."""
    return resumen([verificar(Path(p), cert_pem) for p in paths])


def resumen(resultados: list[Resultado]) -> dict[str, Any]:
    """``{"ok", "checked", "failures": [{"path", "file", "reason"}]}``."""
    fallas = [f for r in resultados for f in r.fallas]
    return {"ok": not fallas, "checked": len(resultados), "failures": fallas}


def verificar(path: Path, cert_pem: bytes | None = None) -> Resultado:
    """One path: a bundle (``.zip``) or an export (``acuses.jsonl`` or its folder)."""
    if path.is_dir() or path.suffix.lower() == ".jsonl":
        return verify_export(path, cert_pem)
    if path.is_file():
        return verify_bundle(path, cert_pem)
    res = Resultado(str(path))
    res.falla("", "no existe")
    return res
