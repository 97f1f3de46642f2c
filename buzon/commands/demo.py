"""``buzon demo``: the whole product in one command, on a fresh ``BUZON_HOME``.

The embedded default (SQLite, file-spool transports, a generated institution key, demo FIELs),
``buzon run`` on the sample upload through Prefect, recipients acting through the real receiver,
a second upload replacing one medium, 72 simulated hours, both ways to activate, the report,
the bundles and ``buzon verify``. Every step is the real command, run in this process.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import httpx

__commands__ = ["demo"]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "carga_corporativo.xlsx"
MARCA = ".buzon-demo"  # only a folder carrying this mark is ever wiped


def _titulo(texto: str) -> None:
    click.secho(f"\n== {texto}", bold=True)


def _buzon(*args: str) -> None:
    """Run ``buzon ARGS`` in this process, as typed; a failure stops the demo."""
    from buzon.commands import activate, efirma, reconcile, report, run, send, verify

    comandos = {
        "run": run.run,
        "send": send.send,
        "reconcile": reconcile.reconcile,
        "activate": activate.activate,
        "efirma": efirma.efirma,
        "report": report.report,
        "verify": verify.verify,
    }
    click.secho(f"$ buzon {' '.join(args)}", fg="cyan")
    code = comandos[args[0]].main(
        list(args[1:]), prog_name=f"buzon {args[0]}", standalone_mode=False
    )
    if isinstance(code, int) and code != 0:
        from buzon.errors import ConfigError

        raise ConfigError(f"la demostración se detuvo: «buzon {args[0]}» terminó con {code}")


def _fresh(home: Path) -> None:
    """Wipe ``home`` if a previous demo made it; refuse any other non-empty folder."""
    from buzon.errors import ConfigError

    if home.exists() and any(home.iterdir()):
        if not (home / MARCA).exists():
            raise ConfigError(
                f"{home} no está vacía y no es de una demostración anterior; use otra --home"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARCA).write_text("buzon demo\n", encoding="utf-8")


def _environment(home: Path, t0: datetime) -> None:
    """Only this demo's configuration: no BUZON_* or Prefect server of the caller leaks in."""
    from flows.server import prefect_env

    for key in [k for k in os.environ if k.startswith("BUZON_")]:
        del os.environ[key]
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.update(prefect_env(home / "prefect") | {"PREFECT_LOGGING_LEVEL": "WARNING"})
    os.environ["BUZON_HOME"] = str(home)
    # The provider's webhook secret (>= 32 bytes): receipts without its signature are refused.
    os.environ["BUZON_WEBHOOK_SECRET"] = secrets.token_urlsafe(32)
    _at(t0)


def _at(when: datetime) -> None:
    os.environ["BUZON_NOW"] = when.isoformat()


def _recipients() -> dict:
    """People open their messages ten minutes after the send, through the real receiver."""
    from buzon.settings import Settings
    from callbacks import poblacion as p
    from callbacks.simulate import receptor

    settings = Settings()
    todos = p.mensajes(settings)
    primero: dict[int, p.Mensaje] = {}
    for m in todos:
        primero.setdefault(m.medio_id, m)
    msgs = list(primero.values())
    rfc_correo = {m.rfc: m for m in msgs if m.alcance_rfc and m.mecanismo == "correo"}
    rfc_tel = {m.rfc: m for m in msgs if m.alcance_rfc and m.mecanismo == "telefono"}
    completos = sorted(set(rfc_correo) & set(rfc_tel))
    keystore_rfc, firma_rfc, reemplazo_rfc = (completos + [None, None, None])[:3]
    usados = {rfc_correo[r].medio_id for r in completos} | {rfc_tel[r].medio_id for r in completos}
    otros_correos = [m for m in msgs if m.mecanismo == "correo" and m.medio_id not in usados]
    otros_tels = [m for m in msgs if m.mecanismo == "telefono" and m.medio_id not in usados]
    hechos: dict = {"validados": 0, "codigos_erroneos": 0, "reenvios": 0, "rebotes": 0,
                    "rebote_sin_firma": None, "ignorados": 0}  # fmt: skip
    secret = os.environ["BUZON_WEBHOOK_SECRET"]
    with receptor(settings) as base, httpx.Client(base_url=base, timeout=30) as http:

        def ok(resultado: str) -> None:
            hechos["validados"] += resultado == "validado"

        for rfc in completos:  # each client's RFC-scope email: its link confirmed
            ok(p.confirmar_enlace(http, rfc_correo[rfc].secreto))
        for m in otros_correos[:6]:  # a few RP-scope emails confirmed too
            ok(p.confirmar_enlace(http, m.secreto))
        for m in otros_correos[6:9]:  # three bounce: the provider's signed receipts
            hechos["rebotes"] += p.rebotar(http, secret, m.outbox_id, settings) == 200
        if len(otros_correos) > 9:  # a forged receipt (wrong signature) changes nothing
            hechos["rebote_sin_firma"] = p.rebotar(
                http, secret, otros_correos[9].outbox_id, settings, firmar=False
            )
        tecleados = [rfc_tel[keystore_rfc]] if keystore_rfc else []
        tecleados += otros_tels[:3]
        for i, m in enumerate(tecleados):
            if i % 2 == 0:  # every other person mistypes first
                wrong = f"{(int(m.secreto) + 1) % 100000:05d}"
                hechos["codigos_erroneos"] += p.teclear_codigo(http, m.rfc, m.valor, wrong) != (
                    "validado"
                )
            ok(p.teclear_codigo(http, m.rfc, m.valor, m.secreto))
        if firma_rfc:  # this one never got the SMS: «Reenviar código de verificación»
            m = rfc_tel[firma_rfc]
            if p.pedir_reenvio(http, m.rfc, m.valor) == 200:
                nuevo = None
                for _ in range(100):  # the receiver sends it after answering
                    nuevo = p.ultimo_codigo(settings, m.medio_id)
                    if nuevo != m.secreto:
                        break
                    time.sleep(0.1)
                hechos["reenvios"] += nuevo not in (None, m.secreto)
                ok(p.teclear_codigo(http, m.rfc, m.valor, nuevo or m.secreto))
    # Nobody answered for the rest: they expire once 72 hours pass.
    hechos["ignorados"] = len(msgs) - hechos["validados"] - hechos["rebotes"]
    hechos |= {"keystore": keystore_rfc, "firma": firma_rfc, "reemplazo": reemplazo_rfc}
    return hechos


def _second_upload(rfc: str, out: Path) -> tuple[Path, str, str]:
    """The desired state of ``rfc``'s media with its RFC-scope mobile replaced by a new one."""
    from buzon.settings import Settings
    from registry.db import get_engine
    from registry.reader import read_alcances_activos

    with get_engine(Settings()).connect() as conn:
        df = read_alcances_activos(conn, [rfc])
    viejo = df.filter(df["rp"].is_null() & (df["mecanismo"] == "telefono"))["medio"][0]
    nuevo = "55" + str(50000000 + int(viejo[-8:]) % 49999999).zfill(8)
    lines = ["RFC,Registro patronal,Correo,Celular"]
    for row in df.iter_rows(named=True):
        valor = nuevo if row["medio"] == viejo else row["medio"]
        correo, cel = (valor, "") if row["mecanismo"] == "correo" else ("", valor)
        lines.append(f"{rfc},{row['rp'] or ''},{correo},{cel}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out, viejo, nuevo


def _activate(home: Path, t0: datetime, keystore_rfc: str | None, firma_rfc: str | None) -> Path:
    """One RFC through the operator's keystore; one through a request its holder signs."""
    from cryptography.hazmat.primitives import serialization

    from signers.demo import make_ca, write_keystore

    ca = make_ca(t0)
    ca_dir = home / "ac-demo"
    ca_dir.mkdir(exist_ok=True)
    (ca_dir / "ac-demo-no-es-sat.cer").write_bytes(ca.cert.public_bytes(serialization.Encoding.DER))
    os.environ["BUZON_SAT_CA_DIR"] = str(ca_dir)  # the chain is checked against the demo CA
    solicitudes = home / "solicitudes"
    if keystore_rfc:
        operador = home / "efirmas-operador"
        write_keystore(operador, [keystore_rfc], t0, ca=ca)
        click.echo(
            f"   {keystore_rfc}: el operador guarda su e.firma (passwords.csv con permisos 600)"
        )
        _buzon("activate", "--keystore", str(operador), "--rfc", keystore_rfc)
    if firma_rfc:
        equipo = home / f"equipo-de-{firma_rfc}"
        write_keystore(equipo, [firma_rfc], t0, ca=ca)
        click.echo(f"   {firma_rfc}: solicitud de firma; su titular firma en su propio equipo")
        _buzon("activate", "--solicitudes", str(solicitudes), "--rfc", firma_rfc)
        with (equipo / "passwords.csv").open(encoding="utf-8") as fh:
            password = fh.read().splitlines()[1].split(",", 1)[1]
        clave = equipo / "clave.txt"
        fd = os.open(clave, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password)
        _buzon(
            "efirma", "firmar", "--solicitud", str(solicitudes / firma_rfc),
            "--cer", str(equipo / f"{firma_rfc}.cer"), "--key", str(equipo / f"{firma_rfc}.key"),
            "--password-file", str(clave),
        )  # fmt: skip
        click.echo("   la carpeta firmada vuelve al operador: buzon run --firmas la importa")
    return solicitudes


def _summary(
    home: Path, reporte: Path, paquetes: list[Path], hechos: dict, segundos: float
) -> dict:
    from buzon.settings import Settings
    from registry.db import get_engine
    from registry.reader import count_estados

    with get_engine(Settings()).connect() as conn:
        estado = count_estados(conn)
    return {
        "home": str(home),
        "por_estado": {k: v for k, v in estado["por_estado"].items() if v},
        "activados": sorted(r["rfc"] for r in estado["rfcs"] if r["estado"] == "activado"),
        "destinatarios": hechos,
        "reporte": str(reporte / "estado.html"),
        "paquetes": len(paquetes),
        "segundos": round(segundos, 1),
    }


@click.command()
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".buzon/demo"),
    show_default=True,
    help="BUZON_HOME de la demostración; se borra al empezar (solo si es de una demostración).",
)
@click.option("--json", "as_json", is_flag=True, help="Al final, un objeto JSON con el resumen.")
def demo(home: Path, as_json: bool) -> None:
    """Muestra el producto completo en un solo comando, en un BUZON_HOME nuevo.

    SQLite, mensajes en archivos (spool), llave de la institución generada y e.firmas de DEMO (no
    emitidas por el SAT). Ejecuta buzon run sobre la carga de ejemplo; simula a los destinatarios
    en el receptor real (enlaces, códigos, un error, un reenvío, rebotes firmados); una segunda
    carga reemplaza un celular; pasan 72 horas simuladas; activa un RFC con el almacén de
    e.firmas y otro con una solicitud firmada por su titular; escribe el reporte y los paquetes
    y los verifica.

    \b
    Ejemplo:
      buzon demo
      buzon demo --home /tmp/demo --json
    """
    inicio = time.perf_counter()
    home = home.resolve()
    _fresh(home)
    t0 = datetime.now(UTC).replace(microsecond=0)
    _environment(home, t0)

    _titulo("1. La carga llega: buzon run (validar, registrar, enviar, conciliar, reporte)")
    _buzon("run", str(SAMPLE), "--out", str(home / "reportes" / "1-primera-carga"))

    _titulo("2. Diez minutos después, los destinatarios abren sus mensajes (receptor real)")
    _at(t0 + timedelta(minutes=10))
    hechos = _recipients()
    click.echo(
        f"   {hechos['validados']} medios validados; {hechos['codigos_erroneos']} códigos mal "
        f"tecleados antes del bueno; {hechos['reenvios']} reenvío desde la página; "
        f"{hechos['rebotes']} rebotes por webhook firmado (uno sin firma: HTTP "
        f"{hechos['rebote_sin_firma']}); {hechos['ignorados']} sin respuesta"
    )
    _buzon("send")  # the «validación exitosa» confirmations

    keystore_rfc, firma_rfc, reemplazo_rfc = (hechos[k] for k in ("keystore", "firma", "reemplazo"))
    _titulo("3. Dos horas después: activar con e.firmas de DEMO (NO emitidas por el SAT)")
    _at(t0 + timedelta(hours=2))
    solicitudes = _activate(home, t0, keystore_rfc, firma_rfc)

    _titulo("4. Una segunda carga (--sync) con buzon run: reemplaza un celular, importa la firma")
    args = ["run"]
    if reemplazo_rfc:
        segunda, viejo, nuevo = _second_upload(reemplazo_rfc, home / "segunda_carga.csv")
        click.echo(
            f"   {reemplazo_rfc}: celular ******{viejo[-4:]} → ******{nuevo[-4:]} "
            "(baja del anterior y registro del nuevo, cada uno con su acuse)"
        )
        args += [str(segunda), "--sync"]
    else:
        args += [str(SAMPLE)]
    args += ["--out", str(home / "reportes" / "2-segunda-carga")]
    if firma_rfc:
        args += ["--firmas", str(solicitudes)]
    _buzon(*args)

    _titulo("5. Pasan 72 horas (BUZON_NOW simulado): conciliar vence lo no validado")
    _at(t0 + timedelta(hours=73))
    _buzon("reconcile")

    _titulo("6. Reporte final y paquetes de acuses; cualquiera los comprueba con buzon verify")
    reporte = home / "reportes" / "3-final"
    _buzon("report", "--out", str(reporte))
    paquetes = sorted((reporte / "acuses").glob("*.zip"))
    _buzon("verify", *map(str, paquetes))

    res = _summary(home, reporte, paquetes, hechos, time.perf_counter() - inicio)
    _titulo(f"Listo en {res['segundos']:.0f} s")
    estados = ", ".join(f"{v} {k}" for k, v in res["por_estado"].items())
    click.echo(f"   Medios: {estados}")
    click.echo(f"   RFC activados: {', '.join(res['activados']) or 'ninguno'}")
    click.echo(f"   Reporte: {res['reporte']} (y estado.xlsx, CSV)")
    click.echo(f"   Paquetes de acuses ({len(paquetes)}, verificados): {reporte / 'acuses'}")
    click.echo(f"   Mensajes enviados (spool): {home / 'spool'}")
    click.echo("   Para revisar el registro de la demostración:")
    click.echo(f"     export BUZON_HOME={home}")
    click.echo("     buzon status")
    if as_json:
        click.echo(json.dumps(res, ensure_ascii=False))
