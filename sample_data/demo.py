"""The README's first command: the whole pipeline on the sample upload, embedded defaults.

Every step runs the real ``buzon`` CLI in a subprocess, as an operator would type it, against
a fresh ``BUZON_HOME`` (``.buzon/demo``: SQLite, file-spool transports, generated demo keys).

    python -m sample_data.demo
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"
HOME = ROOT / ".buzon" / "demo"
OUT = ROOT / "salida"


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def buzon(*args: str, env: dict[str, str] | None = None) -> None:
    shown = " ".join(args)
    print(f"$ buzon {shown}", flush=True)
    result = subprocess.run([sys.executable, "-m", "buzon", *args], env=env, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"demo: 'buzon {shown}' terminó con código {result.returncode}")


def demo_firma_del_titular(keystore: Path, env: dict[str, str]) -> None:
    """The holder-side way for one client RFC: requests out, signed on "their" machine, back in."""
    import csv

    solicitudes = OUT / "solicitudes"
    print("   Solicitudes de firma para cada RFC listo (nadie entrega su llave al operador):")
    buzon("activate", "--solicitudes", str(solicitudes), env=env)
    listos = (
        sorted(p.name for p in solicitudes.iterdir() if p.is_dir()) if solicitudes.is_dir() else []
    )
    if not listos:
        print("   (ningún RFC listo para firmar en esta corrida)")
        return
    rfc = listos[0]
    # The client's own machine: their .cer/.key and a password file only they hold.
    with (keystore / "passwords.csv").open(newline="", encoding="utf-8") as fh:
        password = {r["rfc"]: r["password"] for r in csv.DictReader(fh)}[rfc]
    equipo = HOME / f"equipo-de-{rfc}"
    equipo.mkdir(parents=True, exist_ok=True)
    clave = equipo / "clave.txt"
    fd = os.open(clave, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password)
    print(f"   En el equipo del titular de {rfc} (su llave y su contraseña no salen de ahí):")
    buzon(
        "efirma",
        "firmar",
        "--solicitud",
        str(solicitudes / rfc),
        "--cer",
        str(keystore / f"{rfc}.cer"),
        "--key",
        str(keystore / f"{rfc}.key"),
        "--password-file",
        str(clave),
        env=env,
    )
    print("   De vuelta con el operador: importar las firmas devueltas")
    buzon("activate", "--firmas", str(solicitudes), env=env)


def main() -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    shutil.rmtree(OUT, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    env["BUZON_HOME"] = str(HOME)
    keystore = HOME / "efirmas-demo"

    step("1. Validar la carga sin cambiar nada (plan)")
    buzon("plan", str(SAMPLE), "--out", str(OUT / "plan"), env=env)
    print(f"   rechazos y advertencias por celda: {OUT / 'plan'}/rechazos.csv, advertencias.csv")

    step("2. Registrar los medios: folios, acuses sellados y mensajes en cola (apply)")
    buzon("apply", str(SAMPLE), env=env)
    print("   ... y otra vez: no registra nada dos veces")
    buzon("apply", str(SAMPLE), "--json", env=env)

    step("3. Enviar las verificaciones al spool (correos .eml y SMS en sms.jsonl)")
    buzon("send", env=env)
    print(f"   mensajes en {HOME / 'spool'}")

    step("4. Algunos destinatarios confirman su enlace y teclean su código (uno se equivoca)")
    from buzon.settings import Settings
    from callbacks.simulate import simular

    os.environ["BUZON_HOME"] = str(HOME)  # simular() runs in this process
    resultado = simular(Settings(home=HOME), correos=4, celulares=3)
    print(json.dumps(resultado, ensure_ascii=False, indent=2))
    buzon("send", env=env)  # the confirmation messages ("validación exitosa")

    step("5. Pasan 72 horas (BUZON_NOW simulado): conciliar vence lo no validado")
    later = dict(env, BUZON_NOW=(datetime.now(UTC) + timedelta(hours=73)).isoformat())
    buzon("reconcile", env=later)

    step("6. Firmar los Términos y Condiciones con e.firma (FIEL de DEMO, NO emitidas por el SAT)")
    from sample_data.make_sample import CLIENTS
    from signers.demo import write_keystore

    write_keystore(keystore, {rfc: name for rfc, name, _, _ in CLIENTS}, datetime.now(UTC))
    demo_firma_del_titular(keystore, later)
    print("   El resto, con el almacén de e.firmas del operador (el mismo camino, otra forma):")
    buzon("activate", "--keystore", str(keystore), env=later)

    step("7. Estado final y acuses verificables con openssl")
    buzon("status", env=later)
    buzon("acuses", "--out", str(OUT / "acuses"), "--pdf", env=later)

    step("8. Reporte por RP (xlsx, CSV, HTML) y paquetes de acuses firmados; verificarlos")
    reporte = OUT / "reporte"
    buzon("report", "--out", str(reporte), env=later)
    paquetes = sorted(str(p) for p in (reporte / "acuses").glob("*.zip"))
    buzon("verify", *paquetes, env=later)
    print(f"\nListo. Estado en {HOME}.")
    print(f"   Reporte: {reporte / 'estado.html'} (y estado.xlsx, estado_por_rp.csv, medios.csv)")
    print(f"   Paquetes de acuses: {reporte / 'acuses'} ({len(paquetes)} ZIP, verificados)")
    print(f"   PDF de cada acuse: {OUT / 'acuses' / 'pdf'}")


if __name__ == "__main__":
    main()
