"""The ``buzon`` command group. Commands live in :mod:`buzon.commands`, one module each.

Heavy imports happen inside each command so ``buzon --help`` and ``buzon plan`` start fast.
Errors become one line on stderr and a non-zero exit here, and only here.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import click

from buzon import __version__, click_es, commands
from buzon.errors import BuzonError

click_es.install()  # before the commands are imported: their types take Spanish names


def _describe(exc: Exception) -> str:
    """One line for an error that is not a BuzonError (settings, the file system, a bug)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.title == "Settings":
        problems = "; ".join(
            f"BUZON_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        return f"configuración inválida: {problems}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"error inesperado ({type(exc).__name__}): {text[:300]} (detalle con -vv)"


class _Group(click.Group):
    """Turns a :class:`BuzonError` into one stderr line and its exit code (also under CliRunner),
    and a usage error (unknown option, missing argument, bad value) into one line too."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]  # noqa: ANN001, ANN201
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else (prog_name or "buzon")
            click.echo(f"error: {exc.format_message()} (ayuda: {where} --help)", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: interrumpido", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except BuzonError as exc:
            click.echo(f"error: {exc.one_line()}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            click.echo("error: interrumpido", err=True)
            raise click.exceptions.Exit(130) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # the last line of defence: one line, never a traceback
            click.echo(f"error: {_describe(exc)}", err=True)
            logging.getLogger("buzon").debug("detalle del error", exc_info=True)
            raise click.exceptions.Exit(1) from None


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="buzon")
@click.option("-v", "--verbose", count=True, help="Más detalle en stderr (-vv para depurar).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Activación masiva del Buzón IMSS.

    \b
    Ejemplo:
      buzon plan sample_data/carga_corporativo.xlsx
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    ctx.ensure_object(dict)


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        for name in getattr(module, "__commands__", ()):
            cli.add_command(getattr(module, name))


def _spanish_usage(command: click.Command) -> None:
    """The usage line's placeholders in Spanish ("Uso: buzon plan [OPCIONES] ARCHIVO...")."""
    command.options_metavar = "[OPCIONES]"
    if isinstance(command, click.Group):
        command.subcommand_metavar = "COMANDO [ARGUMENTOS]..."
        for sub in command.commands.values():
            _spanish_usage(sub)


_register()
_spanish_usage(cli)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="buzon")


if __name__ == "__main__":
    main()
