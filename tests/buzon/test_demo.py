"""``buzon demo`` itself: the whole product on a fresh home, through Prefect, in one command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from registry.tables import medios, particulares
from reports.verify import verify_paths

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_demo_validates_activates_and_every_bundle_verifies(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUZON_", "PREFECT_"))}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-m", "buzon", "demo", "--home", str(home), "--json"],
        env=env, capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:] + out.stdout[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert f"export BUZON_HOME={home}" in out.stdout

    gente = res["destinatarios"]
    assert gente["codigos_erroneos"] >= 1 and gente["reenvios"] == 1
    assert gente["rebotes"] == 3 and gente["rebote_sin_firma"] == 401
    activados = {gente["keystore"], gente["firma"]}
    assert sorted(activados) == res["activados"]  # one by keystore, one by a signed request

    engine = create_engine(f"sqlite:///{home / 'buzon.db'}")
    with engine.connect() as conn:
        estados = dict(conn.execute(select(particulares.c.rfc, particulares.c.estado)).all())
        por_medio = conn.execute(select(medios.c.rfc, medios.c.mecanismo, medios.c.estado)).all()
    engine.dispose()
    assert {r for r, e in estados.items() if e == "activado"} == activados
    validados = [m for m in por_medio if m.estado == "validado"]
    assert len(validados) == gente["validados"] == res["por_estado"]["validado"] >= 4
    assert sum(m.estado == "no_entregado" for m in por_medio) == 3
    assert sum(m.estado == "vencido" for m in por_medio) > 0  # the ignored, after 72 hours
    # The second upload replaced one mobile: its old number is baja, the new one still pending.
    reemplazo = [m for m in por_medio if m.rfc == gente["reemplazo"] and m.mecanismo == "telefono"]
    assert sorted(m.estado for m in reemplazo).count("baja") == 1
    assert any(m.estado == "enviado" for m in reemplazo)

    paquetes = sorted((Path(res["reporte"]).parent / "acuses").glob("*.zip"))
    assert len(paquetes) == res["paquetes"] == len(estados)  # every registered RFC has acuses
    checked = verify_paths(paquetes)
    assert checked["ok"] and checked["checked"] == len(paquetes), checked["failures"]
    assert (home / "prefect").is_dir()  # Prefect's state stayed under the demo's home


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from buzon.cli import cli

    (tmp_path / "mis-datos.txt").write_text("no borrar", encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path)])
    assert result.exit_code != 0
    assert "no es de una demostración anterior" in result.stderr
    assert (tmp_path / "mis-datos.txt").read_text(encoding="utf-8") == "no borrar"
