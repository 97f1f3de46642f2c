"""The README's first command: the whole pipeline on the sample upload, embedded defaults.

Every step runs the real ``buzon`` CLI in a subprocess, exactly as an operator would type it, against
a fresh ``BUZON_HOME`` (``.buzon/demo``: SQLite, file-spool transports, generated demo keys).

    python -m sample_data.demo
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def main() -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    shutil.rmtree(OUT, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    env["BUZON_HOME"] = str(HOME)

    step("1. Validar la carga sin cambiar nada (plan)")
    buzon("plan", str(SAMPLE), "--out", str(OUT / "plan"), env=env)
    print(f"   rechazos y advertencias por celda: {OUT / 'plan'}/rechazos.csv, advertencias.csv")

    step("2. Registrar los medios: folios, acuses sellados y mensajes en cola (apply)")
    buzon("apply", str(SAMPLE), env=env)
    buzon("apply", str(SAMPLE), env=env)  # idempotent: registers nothing the second time

    step("3. Estado por RFC")
    buzon("status", env=env)
    buzon("acuses", "--out", str(OUT / "acuses"), env=env)
    print(f"\nListo. Estado en {HOME}, archivos en {OUT}.")


if __name__ == "__main__":
    main()
