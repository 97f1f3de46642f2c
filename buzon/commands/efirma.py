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


@click.group()
def efirma() -> None:
    """Revisa archivos de e.firma (FIEL) del SAT.

    \b
    Ejemplo:
      buzon efirma check --cer fiel.cer --key fiel.key --password-file clave.txt --rfc EKU9003173C9
    """


@efirma.command("check")
@click.option(
    "--cer", "cer", type=click.Path(path_type=Path), required=True, help="Certificado (.cer)."
)
@click.option(
    "--key", "key", type=click.Path(path_type=Path), required=True, help="Llave privada (.key)."
)
@click.option(
    "--password-file",
    type=click.Path(path_type=Path),
    help="Archivo con la contraseña de la llave, permisos 600 (si no, BUZON_EFIRMA_PASSWORD; si "
    "no, se pregunta sin mostrarla).",
)
@click.option("--rfc", help="Exige además que el certificado sea de este RFC.")
@click.option("--json", "as_json", is_flag=True, help="Imprime un objeto JSON.")
def check_command(
    cer: Path, key: Path, password_file: Path | None, rfc: str | None, as_json: bool
) -> None:
    """Dice qué es el par .cer/.key y si puede firmar los TyC ahora.

    Revisa los archivos, la contraseña, que la llave corresponda, que sea FIEL (no CSD), la
    vigencia a BUZON_NOW o ahora, el RFC, y el emisor si BUZON_SAT_CA_DIR está definido. Termina
    con estado 1 y el código EFIRMA_* si el par no puede firmar.

    \b
    Ejemplo:
      buzon efirma check --cer EKU9003173C9.cer --key EKU9003173C9.key --rfc EKU9003173C9 --json
    """
    from buzon.settings import Settings
    from signers.efirma import Certificado, Efirma, check, load_trusted

    settings = Settings()
    result: dict[str, object] = {"ok": False, "error": None, **dict.fromkeys(FIELDS)}
    error: EfirmaError | None = None
    try:
        certificado = Certificado.load(cer)
        result.update(certificado.info())
        password = read_password(password_file, settings)
        # One pair at a time: afford OpenSSL's full RSA key check here.
        Efirma.load(cer, key, password, validate=True)
        check(
            certificado,
            now=settings.clock(),
            rfc=rfc.strip().upper() if rfc else None,
            trusted=load_trusted(settings.sat_ca_dir),
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


__commands__ = ["efirma"]
