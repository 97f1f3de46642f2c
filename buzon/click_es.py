"""click's own words in Spanish: "Usage:", "Options", "Show this message and exit." and its
usage errors, so that everything ``buzon`` prints is Spanish.

click looks its texts up with ``gettext`` through names bound at import (``_`` and
``ngettext`` in each of its modules) and ships no catalog; :func:`install` rebinds those names to
a lookup in :data:`TEXTS`. A text missing here stays in English, never breaks.
"""

from __future__ import annotations

import importlib

TEXTS: dict[str, str] = {
    "Usage:": "Uso:",
    "Options": "Opciones",
    "Commands": "Comandos",
    "Positional arguments": "Argumentos",
    "Show this message and exit.": "Muestra esta ayuda y termina.",
    "Show the version and exit.": "Muestra la versión y termina.",
    "%(prog)s, version %(version)s": "%(prog)s, versión %(version)s",
    "Error: {message}": "error: {message}",
    "Try '{command} {option}' for help.": "Ayuda: '{command} {option}'.",
    "Aborted!": "interrumpido",
    "No such command {name!r}.": "no existe el comando {name!r}.",
    "No such option: {name}": "no existe la opción {name}",
    "No such option {name!r}.": "no existe la opción {name!r}.",
    "Missing command.": "falta el comando.",
    "Missing argument": "falta el argumento",
    "Missing option": "falta la opción",
    "Missing parameter": "falta el parámetro",
    "Missing parameter: {param_name}": "falta el parámetro: {param_name}",
    "Missing {param_type}": "falta {param_type}",
    "Invalid value for {param_hint}: {message}": "valor inválido para {param_hint}: {message}",
    "Invalid value: {message}": "valor inválido: {message}",
    "{value!r} is not a valid {number_type}.": "{value!r} no es un {number_type} válido.",
    "{value} is not in the range {range}.": "{value} no está en el rango {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "{value!r} no es un valor sí/no. Valores reconocidos: {states}"
    ),
    "Option {name!r} does not take a value.": "la opción {name!r} no lleva valor.",
    "Option {name!r} requires an argument.": "la opción {name!r} requiere un valor.",
    "Option {name!r} requires {nargs} arguments.": "la opción {name!r} requiere {nargs} valores.",
    "Got unexpected extra argument ({args})": "argumento de más ({args})",
    "Got unexpected extra arguments ({args})": "argumentos de más ({args})",
    "Did you mean {possibility}?": "¿Quiso decir {possibility}?",
    "(Did you mean one of: {possibilities}?)": "(¿Quiso decir alguna de: {possibilities}?)",
    "{value!r} is not {choice}.": "{value!r} no es {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} no es ninguno de {choices}.",
    "{name} {filename!r} does not exist.": "{name} {filename!r} no existe.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} es una carpeta.",
    "{name} {filename!r} is a file.": "{name} {filename!r} es un archivo.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} no se puede leer.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} no se puede escribir.",
    "file": "archivo",
    "directory": "carpeta",
    "path": "ruta",
    "default: {default}": "predeterminado: {default}",
    "required": "obligatorio",
    "env var: {var}": "variable de entorno: {var}",
    "Repeat for confirmation": "Repita para confirmar",
    "Error: The two entered values do not match.": "error: los dos valores no coinciden.",
    "Error: invalid input": "error: entrada inválida",
}

_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types")
# Type names show in help as metavars (TEXTO, ENTERO) and in conversion errors.
_TYPE_NAMES = {
    "StringParamType": "texto",
    "IntParamType": "entero",
    "IntRange": "entero",
    "FloatParamType": "número",
    "FloatRange": "número",
    "BoolParamType": "sí/no",
}


def gettext(message: str) -> str:
    return TEXTS.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def install() -> None:
    """Rebind click's lookups to :data:`TEXTS` (idempotent)."""
    for name in _MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
    types = importlib.import_module("click.types")
    for cls, spanish in _TYPE_NAMES.items():
        getattr(types, cls).name = spanish
