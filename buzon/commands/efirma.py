"""``buzon efirma check``: what an e.firma pair is and whether it can sign the T&C now."""

from __future__ import annotations

import json
from pathlib import Path

import click

from buzon.errors import EfirmaContrasena, EfirmaError
from buzon.files import require_private

FIELDS = (
    "tipo",
    "rfc",
    "rfc_representante",
    "curp",
    "nombre",
    "numero_certificado",
    "valido_desde",
    "valido_hasta",
    "emisor",
)


def read_password(password_file: Path | None, settings) -> str:  # noqa: ANN001 - Settings
    """From a file, from ``BUZON_EFIRMA_PASSWORD``, or a hidden prompt; never an argument."""
    if password_file is not None:
        if password_file.is_file():
            # As ``activate`` does with passwords.csv: a password others can read is refused.
            require_private(password_file, what="el archivo de contraseña")
        try:
            text = password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EfirmaContrasena(
                f"no se pudo leer el archivo de contraseña: {exc}", archivo=str(password_file)
            ) from None
        # Only the line ending an editor adds; spaces can be part of a password.
        return text.rstrip("\r\n")
    if settings.efirma_password is not None:
        return settings.efirma_password.get_secret_value()
    try:
        return click.prompt("Contraseña de la llave privada", hide_input=True, err=True)
    except click.Abort:
        raise EfirmaContrasena(
            "falta la contraseña: use --password-file, BUZON_EFIRMA_PASSWORD o una terminal"
        ) from None


PASSWORD_FILE = click.option(
    "--password-file",
    type=click.Path(path_type=Path),
    help="Archivo con la contraseña de la llave, permisos 600 (si no, BUZON_EFIRMA_PASSWORD; si "
    "no, se pregunta sin mostrarla).",
)


@click.group()
def efirma() -> None:
    """Revisa y usa e.firmas (FIEL) del SAT.

    \b
    Ejemplo:
      buzon efirma check --cer fiel.cer --key fiel.key --password-file clave.txt --rfc EKU9003173C9
      buzon efirma firmar --solicitud solicitudes/EKU9003173C9 --cer fiel.cer --key fiel.key
    """


@efirma.command("check")
@click.option("--cer", "cer", type=click.Path(path_type=Path), help="Certificado (.cer).")
@click.option("--key", "key", type=click.Path(path_type=Path), help="Llave privada (.key).")
@PASSWORD_FILE
@click.option("--rfc", help="Exige además que el certificado sea de este RFC.")
@click.option(
    "--keystore",
    type=click.Path(path_type=Path),
    help="Revisa todas las e.firmas de un almacén de activate --keystore de una vez.",
)
@click.option(
    "--dias",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Con --keystore: avisa de las e.firmas que vencen dentro de N días.",
)
@click.option("--json", "as_json", is_flag=True, help="Imprime un objeto JSON.")
def check_command(
    cer: Path | None,
    key: Path | None,
    password_file: Path | None,
    rfc: str | None,
    keystore: Path | None,
    dias: int,
    as_json: bool,
) -> None:
    """Dice qué es el par .cer/.key y si puede firmar los términos ahora.

    Revisa los archivos, la contraseña, que la llave corresponda, FIEL (no CSD), vigencia a
    BUZON_NOW o ahora, el RFC, el emisor si BUZON_SAT_CA_DIR está indicado, y la revocación si
    BUZON_SAT_OCSP_URL está indicado. Sale con 1 y el código EFIRMA_* si el par no puede firmar.
    Con --keystore revisa cada <RFC>.cer/.key del almacén (y <RFC>.representante.cer/.key) y
    avisa de las que vencen dentro de --dias.

    \b
    Ejemplo:
      buzon efirma check --cer EKU9003173C9.cer --key EKU9003173C9.key --rfc EKU9003173C9 --json
      buzon efirma check --keystore efirmas/ --dias 45 --json
    """
    from buzon.errors import ConfigError
    from buzon.settings import Settings
    from signers.efirma import Certificado, Efirma, check, load_trusted
    from signers.ocsp import from_settings

    settings = Settings()
    if keystore is not None:
        if cer is not None or key is not None or rfc is not None:
            raise ConfigError("--keystore no se combina con --cer, --key ni --rfc")
        _check_keystore(keystore, dias, as_json, settings)
        return
    if cer is None or key is None:
        raise ConfigError("indique --cer y --key, o --keystore")
    result: dict[str, object] = {"ok": False, "error": None, **dict.fromkeys(FIELDS)}
    error: EfirmaError | None = None
    try:
        certificado = Certificado.load(cer)
        result.update(certificado.info())
        password = read_password(password_file, settings)
        # One pair at a time: afford OpenSSL's full RSA key check here.
        Efirma.load(cer, key, password, validate=True)
        trusted = load_trusted(settings.sat_ca_dir)
        check(
            certificado,
            now=settings.clock(),
            rfc=rfc.strip().upper() if rfc else None,
            trusted=trusted,
            revocation=from_settings(settings, trusted),
        )
        result["ok"] = True
    except EfirmaError as exc:
        error = exc
        result["error"] = exc.code
        result["mensaje"] = exc.message
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        for name in FIELDS:
            if result[name] is not None:
                click.echo(f"{name:20} {result[name]}")
        click.echo(f"{'puede firmar':20} {'sí' if result['ok'] else 'no'}")
    if error is not None:
        click.echo(f"error: {error.code}: {error.one_line()}", err=True)
        raise click.exceptions.Exit(error.exit_code)


def _check_keystore(folder: Path, dias: int, as_json: bool, settings) -> None:  # noqa: ANN001
    import os
    from datetime import timedelta

    from registry.activate import Keystore, check_keystore
    from registry.folios import TZ

    store = Keystore.open(folder, os.environ)
    now = settings.clock()
    ok, failed, vigencias = check_keystore(store, settings, now=now)
    limite = now + timedelta(days=dias)
    expiring = {
        r: hasta.astimezone(TZ).date().isoformat()
        for r, hasta in sorted(vigencias.items())
        if r in ok and hasta <= limite
    }
    if as_json:
        out = {
            "ok": ok,
            "failed": {r: exc.code for r, exc in sorted(failed.items())},
            "expiring": expiring,
        }
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(f"{'RFC':28} {'estado':34} vence")
        for r in sorted(set(ok) | set(failed)):
            vence = vigencias[r].astimezone(TZ).date().isoformat() if r in vigencias else ""
            estado = "puede firmar" if r in ok else failed[r].code
            aviso = f"  (vence en menos de {dias} días)" if r in expiring else ""
            click.echo(f"{r:28} {estado:34} {vence}{aviso}")
        click.echo(f"pueden firmar: {len(ok):,}; con problemas: {len(failed):,}")
        for r, exc in sorted(failed.items()):
            click.echo(f"error: {r}: {exc.code}: {exc.one_line()}", err=True)
    if failed:
        raise click.exceptions.Exit(1)


@efirma.command("firmar")
@click.option(
    "--solicitud",
    "carpeta",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Carpeta de la solicitud (DIR/<RFC>/ con cadena.txt).",
)
@click.option("--cer", "cer", type=click.Path(path_type=Path), required=True, help="Su .cer.")
@click.option("--key", "key", type=click.Path(path_type=Path), required=True, help="Su .key.")
@PASSWORD_FILE
@click.option(
    "--representante",
    is_flag=True,
    help="Firma como representante legal (firma conjunta): escribe en representante/.",
)
def firmar_command(
    carpeta: Path, cer: Path, key: Path, password_file: Path | None, representante: bool
) -> None:
    """Firma una solicitud de términos con su e.firma, en su propio equipo.

    Hace las mismas revisiones que «efirma check» (con el RFC de la solicitud, salvo como
    representante), firma cadena.txt tal cual (RSA PKCS#1 v1.5, SHA-256) y escribe firma.b64 y
    efirma.cer en la carpeta. No escribe nada más: la llave y la contraseña no salen de su equipo.

    \b
    Ejemplo:
      buzon efirma firmar --solicitud solicitudes/EKU9003173C9 \\
          --cer EKU9003173C9.cer --key EKU9003173C9.key --password-file clave.txt
    """
    from buzon.settings import Settings
    from signers.efirma import Efirma, check, load_trusted
    from signers.ocsp import from_settings
    from signers.solicitud import parse_cabecera, read_cadena, sign_solicitud

    settings = Settings()
    try:
        cabecera = parse_cabecera(read_cadena(carpeta))
        password = read_password(password_file, settings)
        efirma_ = Efirma.load(cer, key, password, validate=True)
        trusted = load_trusted(settings.sat_ca_dir)
        check(
            efirma_.certificado,
            now=settings.clock(),
            rfc=None if representante else cabecera.rfc,
            trusted=trusted,
            revocation=from_settings(settings, trusted),
        )
        dest = sign_solicitud(carpeta, efirma_, representante=representante)
    except EfirmaError as exc:
        # The code first, as `efirma check` prints it: the holder reports it to the operator.
        click.echo(f"error: {exc.code}: {exc.one_line()}", err=True)
        raise click.exceptions.Exit(exc.exit_code) from None
    quien = "del representante " if representante else ""
    click.echo(
        f"firma {quien}escrita: {dest}/firma.b64 y {dest}/efirma.cer "
        f"(solicitud {cabecera.folio}, RFC {cabecera.rfc})"
    )


__commands__ = ["efirma"]
