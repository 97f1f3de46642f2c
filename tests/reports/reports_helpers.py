"""A known registry built through the CLI, as an operator would: apply, send, events, activate,
baja. The report tests compare their outputs with what these steps must have left."""

from __future__ import annotations

import email
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

from click.testing import CliRunner

from buzon.cli import cli
from buzon.settings import Settings
from callbacks.simulate import codigos

A = "EKU9003173C9"
B = "ABC680524P76"
C = "AÑ&800101AB1"  # & and Ñ: file names must survive them
NOMBRE_C = "Año & Señal, S.C."
NOMBRE_A = "Kumo & Ñandú Logística, S.A. de C.V."
# A hostile name: markup for the HTML page, a formula for the spreadsheets.
NOMBRE_B = '=HYPERLINK("http://x")<script>alert(1)</script>'
NOW = datetime(2024, 8, 8, 17, 42, 45, tzinfo=UTC)  # 11:42:45 in Mexico City


def rp_valido(prefijo: str, serie: int) -> str:
    """An RP with its right check digit (Luhn over the first 10, a leading letter as 10..35)."""
    base = f"{prefijo}{serie:05d}10"
    digits = "".join(str(int(ch, 36)) if ch.isalpha() else ch for ch in base)
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return base + str((10 - total % 10) % 10)


RP1, RP2 = rp_valido("Y39", 1), rp_valido("Y39", 2)
RP_B = rp_valido("B12", 7)


@dataclass
class Registro:
    settings: Settings
    env: dict[str, str]
    tmp: Path

    def run(self, *args: str, code: int | None = 0, env: dict[str, str] | None = None):  # noqa: ANN201
        """Invoke ``buzon`` with this registry's environment; ``code=None`` accepts any exit."""
        result = CliRunner().invoke(cli, list(args), env=env or self.env)
        if code is not None:
            assert result.exit_code == code, result.output + str(result.exception)
        return result


def _env(settings: Settings, now: datetime) -> dict[str, str]:
    env = {"BUZON_HOME": str(settings.home), "BUZON_NOW": now.isoformat()}
    if settings.database_url:
        env["BUZON_DATABASE_URL"] = settings.database_url
    if settings.seal_key:
        env["BUZON_SEAL_KEY"] = str(settings.seal_key)
        env["BUZON_SEAL_CERT"] = str(settings.seal_cert)
    return env


def _links(settings: Settings) -> dict[str, tuple[str, int]]:
    """``{email: (token, outbox id)}`` of the spooled verification emails."""
    out = {}
    for path in (settings.spool_dir / "email").glob("outbox-*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = msg.get_body(preferencelist=("plain", "html")).get_content()
        token = body.split("/v/", 1)[1].split()[0].strip(".,<>\"'")
        out[str(msg["To"]).strip("<>").split("<")[-1].strip(">")] = (token, int(path.stem[7:]))
    return out


def construir(settings: Settings, tmp: Path) -> Registro:
    """apply (with rejections) → send → apply (actualización) → events (2 validations, 1
    bounce) → activate A → baja."""
    reg = Registro(settings, _env(settings, NOW), tmp)
    carga = tmp / "carga.csv"
    carga.write_text(
        "RFC,Razon social,Registro patronal,Correo,Celular\n"
        f'{A},"{NOMBRE_A}",,rh@kumo.mx,5512345678\n'
        f'{A},"{NOMBRE_A}",{RP1},planta1@kumo.mx,\n'
        f'{A},"{NOMBRE_A}",{RP2},baja@kumo.mx,\n'
        f'{B},"{NOMBRE_B.replace(chr(34), chr(34) * 2)}",{RP_B},nomina@bajio.mx,\n'
        f'{C},"{NOMBRE_C}",,contacto@senal.mx,\n'
        f"{A},Kumo,,otro-malo,\n",
        encoding="utf-8",
    )
    reg.run("apply", str(carga))
    reg.run("send")
    # The same email also for RP1: an acuse de actualización (no new verification). This last
    # upload's rejections are the ones the report shows.
    carga2 = tmp / "carga2.csv"
    carga2.write_text(
        "RFC,Registro patronal,Correo\n"
        f"{A},{RP1},rh@kumo.mx\n{A},,rh@kumo.mx\n=1+2,,x@y.mx\n{A},,no-es-correo\n",
        encoding="utf-8",
    )
    reg.run("apply", str(carga2))
    links = _links(settings)
    (_, telefono, codigo), *_ = codigos(settings)
    t1 = (NOW + timedelta(hours=1)).isoformat()
    eventos = tmp / "eventos.jsonl"
    eventos.write_text(
        "\n".join(
            json.dumps(e)
            for e in [
                {"tipo": "confirmacion_correo", "token": links["rh@kumo.mx"][0], "fecha": t1},
                {
                    "tipo": "codigo_sms",
                    "rfc": A,
                    "telefono": telefono,
                    "codigo": codigo,
                    "fecha": t1,
                },
                {
                    "tipo": "entrega",
                    "referencia": str(links["nomina@bajio.mx"][1]),
                    "estado": "bounced",
                    "motivo": "buzón inexistente",
                    "fecha": t1,
                },
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    later = dict(reg.env, BUZON_NOW=(NOW + timedelta(hours=2)).isoformat())
    reg.run("reconcile", "--events", str(eventos), env=later)
    from signers.demo import write_keystore

    keystore = tmp / "efirmas"
    write_keystore(keystore, {A: NOMBRE_A}, NOW)
    reg.run("activate", "--keystore", str(keystore), env=later)
    reg.run("baja", "--rfc", A, "--medio", "baja@kumo.mx", env=later)
    reg.env = later
    return reg
