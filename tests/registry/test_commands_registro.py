"""Commands that read the registry through registry.reader: apply --sync replacing a medium in one
run, plan counting the registry, and baja/resend finding a medium in every spelling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_commands
from sqlalchemy import select
from test_commands import RP1, A, B, _csv

from registry.db import dispose_all, get_engine
from registry.tables import acuses, medios


@pytest.fixture
def cli(rsettings):  # noqa: ANN001, ANN201
    """``buzon`` through CliRunner on the test store (test_commands' ``run``)."""
    return test_commands.run.__wrapped__(rsettings)


def _media(settings) -> dict[str, str]:  # noqa: ANN001
    with get_engine(settings).connect() as conn:
        rows = conn.execute(select(medios.c.valor, medios.c.estado).order_by(medios.c.id)).all()
    return {valor: estado for valor, estado in rows}


def _acuses(settings) -> list[tuple[str, str]]:  # noqa: ANN001
    with get_engine(settings).connect() as conn:
        rows = conn.execute(select(acuses.c.tipo, acuses.c.medio).order_by(acuses.c.id)).all()
    return [tuple(r) for r in rows]


def test_sync_replaces_the_mobile_in_one_run(cli, rsettings, tmp_path: Path) -> None:  # noqa: ANN001
    cli("apply", str(_csv(tmp_path / "uno.csv", [f"{A},Kumo,,rh@kumo.mx,5512345678"])))
    nuevo = _csv(tmp_path / "dos.csv", [f"{A},Kumo,,rh@kumo.mx,5587654321"])
    r = json.loads(cli("apply", str(nuevo), "--sync", "--json").output)
    assert r["rejections"] == {} and r["accepted"] == 2
    assert (r["registered"], r["bajas"], r["unchanged"]) == (1, 1, 1)
    assert r["acuses"] == {"registro": 1, "actualizacion": 0, "baja": 1}
    assert _media(rsettings) == {
        "rh@kumo.mx": "registrado", "5512345678": "baja", "5587654321": "registrado"
    }  # fmt: skip
    assert sorted(_acuses(rsettings)[-2:]) == [("baja", "5512345678"), ("registro", "5587654321")]
    again = json.loads(cli("apply", str(nuevo), "--sync", "--json").output)
    assert (again["registered"], again["bajas"], again["updated"]) == (0, 0, 0)
    assert sum(again["acuses"].values()) == 0 and again["rejections"] == {}
    assert len(_acuses(rsettings)) == 4


def test_without_sync_the_new_mobile_is_still_excess(cli, rsettings, tmp_path: Path) -> None:  # noqa: ANN001
    cli("apply", str(_csv(tmp_path / "uno.csv", [f"{A},Kumo,,rh@kumo.mx,5512345678"])))
    nuevo = _csv(tmp_path / "dos.csv", [f"{A},Kumo,,rh@kumo.mx,5587654321"])
    r = json.loads(cli("apply", str(nuevo), "--json").output)
    assert r["rejections"] == {"TELEFONO_EXCEDIDO": 1} and r["registered"] == 0


def test_sync_sixth_email_replaces_one_of_five(cli, rsettings, tmp_path: Path) -> None:  # noqa: ANN001
    cinco = [f"{A},Kumo,,c{i}@kumo.mx," for i in range(5)]
    cli("apply", str(_csv(tmp_path / "uno.csv", cinco)))
    # c0 dropped, c5 added; c5 comes first in the file, the kept ones still fit.
    cambio = _csv(tmp_path / "dos.csv", [f"{A},Kumo,,c5@kumo.mx,", *cinco[1:]])
    r = json.loads(cli("apply", str(cambio), "--sync", "--json").output)
    assert r["rejections"] == {} and (r["registered"], r["bajas"], r["unchanged"]) == (1, 1, 4)
    estados = _media(rsettings)
    assert estados["c0@kumo.mx"] == "baja" and estados["c5@kumo.mx"] == "registrado"
    assert sum(e == "registrado" for e in estados.values()) == 5
    again = json.loads(cli("apply", str(cambio), "--sync", "--json").output)
    assert (again["registered"], again["bajas"], sum(again["acuses"].values())) == (0, 0, 0)


def test_sync_seven_emails_keep_the_registered_ones_first(cli, rsettings, tmp_path: Path) -> None:  # noqa: ANN001
    cinco = [f"{A},Kumo,,c{i}@kumo.mx," for i in range(5)]
    cli("apply", str(_csv(tmp_path / "uno.csv", cinco)))
    # Two new addresses before the five registered ones: the registered ones keep their slots.
    mas = _csv(tmp_path / "dos.csv", [f"{A},Kumo,,n1@kumo.mx,", f"{A},Kumo,,n2@kumo.mx,", *cinco])
    r = json.loads(cli("apply", str(mas), "--sync", "--json").output)
    assert r["rejections"] == {"CORREOS_EXCEDIDOS": 2}
    assert (r["registered"], r["bajas"], r["unchanged"]) == (0, 0, 5)


def _files(home: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(home.rglob("*"))
    }


def test_plan_after_apply_reports_what_apply_would_reject(cli, rsettings, tmp_path: Path) -> None:  # noqa: ANN001
    primera = [f"{A},Kumo,,c{i}@kumo.mx," for i in range(5)]
    primera += [f"{A},Kumo,,,5512345678", f"{B},Bajio,{RP1},b@bajio.mx,"]
    cli("apply", str(_csv(tmp_path / "uno.csv", primera)))
    segunda = _csv(
        tmp_path / "dos.csv",
        [f"{A},Kumo,,sexto@kumo.mx,5599999999", f"{A},Kumo,{RP1},rh@kumo.mx,"],
    )
    dispose_all()  # no writer open: SQLite is read as an immutable file (no -wal, no -shm)
    before = _files(rsettings.home)
    plan = json.loads(cli("plan", str(segunda), "--json").output)
    assert plan["rejections"] == {
        "CORREOS_EXCEDIDOS": 1, "TELEFONO_EXCEDIDO": 1, "RP_OTRO_RFC": 1
    }  # fmt: skip
    assert _files(rsettings.home) == before  # read-only: no file created or touched
    apply = json.loads(cli("apply", str(segunda), "--json").output)
    assert apply["rejections"] == plan["rejections"] and apply["accepted"] == plan["accepted"]

    solo = json.loads(cli("plan", str(segunda), "--json", "--sin-registro").output)
    assert solo["rejections"] == {} and solo["accepted"] == 3
    # As apply --sync would: the registered media the upload drops count as gone.
    sync = json.loads(cli("plan", str(segunda), "--json", "--sync").output)
    assert sync["rejections"] == {"RP_OTRO_RFC": 1}
    # A writer is open now (the engine of the apply above): read with mode=ro, still no change.
    before = _files(rsettings.home)
    again = json.loads(cli("plan", str(segunda), "--json").output)
    assert again["rejections"] == plan["rejections"]
    assert _files(rsettings.home) == before


def test_plan_without_a_store_creates_nothing(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    carga = _csv(tmp_path / "c.csv", [f"{A},Kumo,,rh@kumo.mx,5512345678"])
    home = tmp_path / "home"
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from buzon.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['plan', {str(carga)!r}, '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'registry')))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZON_")}
    env["BUZON_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert not home.exists()


CORREOS = ["mailto:RH@Empresa.mx", "  RH@EMPRESA.MX ", "rh@empresa.mx", "MAILTO:rh@empresa.mx"]
CELULARES = [
    "01 55 1234 5678", "+52 1 55 1234 5678", "55 1234 5678", "(55) 1234-5678", "+52 55-1234-5678",
    "044 55 1234 5678", "5512345678",
]  # fmt: skip


def test_baja_finds_every_spelling(cli, rsettings, tmp_path: Path) -> None:  # noqa: ANN001
    carga = _csv(tmp_path / "c.csv", [f"{A},Kumo,,rh@empresa.mx,5512345678"])
    for forma in CORREOS + CELULARES:
        cli("apply", str(carga))  # (again) an active medium with a new folio
        out = cli("baja", "--rfc", A.lower(), "--medio", forma).output
        assert "acuse de baja con folio BI-" in out, forma
    with get_engine(rsettings).connect() as conn:
        bajas = conn.execute(
            select(medios.c.valor).where(medios.c.estado == "baja").order_by(medios.c.id)
        ).scalars()
        assert sorted(bajas) == sorted(["rh@empresa.mx"] * 4 + ["5512345678"] * 7)


def test_resend_finds_every_spelling(cli, rsettings, tmp_path: Path) -> None:  # noqa: ANN001
    cli("apply", str(_csv(tmp_path / "c.csv", [f"{A},Kumo,,rh@empresa.mx,5512345678"])))
    for forma in CORREOS + CELULARES:
        out = cli("resend", "--rfc", f" {A.lower()} ", "--medio", forma, "--no-send").output
        assert out.startswith("reenvío en cola (outbox "), forma
    missing = cli("resend", "--rfc", A, "--medio", "otro@empresa.mx", "--no-send", code=1)
    assert missing.output.count("\n") == 1 and "no hay un medio" in missing.output


def test_plan_with_an_unreadable_store_says_so_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from buzon.cli import cli as buzon

    carga = _csv(tmp_path / "c.csv", [f"{A},Kumo,,rh@kumo.mx,5512345678"])
    env = {
        "BUZON_HOME": str(tmp_path / "home"),
        "BUZON_DATABASE_URL": "postgresql+psycopg://nadie@127.0.0.1:1/ninguna?connect_timeout=2",
    }
    r = CliRunner().invoke(buzon, ["plan", str(carga), "--json"], env=env)
    assert r.exit_code != 0 and r.output.count("\n") == 1 and "Traceback" not in r.output
    assert "no se pudo leer el registro" in r.output and "--sin-registro" in r.output
    ok = CliRunner().invoke(buzon, ["plan", str(carga), "--json", "--sin-registro"], env=env)
    assert ok.exit_code == 0 and json.loads(ok.output)["accepted"] == 2
