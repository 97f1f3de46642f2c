"""Every command answers --help with an example, through the CLI runner."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from buzon.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
        else:
            found.append(path)
    return found


COMMANDS = _commands(cli)


def test_the_pipeline_commands_exist() -> None:
    names = {path[0] for path in COMMANDS}
    assert {"plan", "apply", "send", "resend", "serve", "reconcile", "schedule"} <= names
    assert {"activate", "status", "baja", "acuses", "efirma", "db"} <= names
    assert {"report", "verify"} <= names
    assert "recordar" in names


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_has_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Ejemplo" in result.output
    assert f"buzon {' '.join(path)}" in result.output


def test_unknown_command_is_one_line_error() -> None:
    result = CliRunner().invoke(cli, ["nope"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_bad_setting_is_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUZON_NOW", "ayer")
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 1
    assert "BUZON_NOW" in result.output
    assert "Traceback" not in result.output


def test_os_error_is_one_line_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    blocker = tmp_path / "archivo"
    blocker.write_text("no soy carpeta")
    monkeypatch.setenv("BUZON_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, ["acuses", "--out", str(blocker / "sub")])
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert "Traceback" not in result.output
