"""Rejection and warning codes, in the order the rules are applied, with Spanish messages.

An entry gets exactly one rejection code: the first rule it fails, in :data:`RECHAZOS` order.
Warnings never reject.
"""

from __future__ import annotations

RECHAZOS: dict[str, str] = {
    "RFC_INVALIDO": (
        "El RFC está vacío, no tiene el formato de 12 o 13 caracteres o es genérico; corrígelo."
    ),
    "RP_TODOS_SIN_RP": (
        "«TODOS» se refiere a los registros patronales del RFC que aparecen en la carga o ya "
        "están registrados, y este RFC no tiene ninguno; escribe el registro patronal."
    ),
    "RP_INVALIDO": (
        "El registro patronal debe tener 11 caracteres: 10 dígitos (el primero puede ser "
        "letra) y el dígito verificador."
    ),
    "RP_DIGITO": (
        "El dígito verificador del registro patronal no corresponde; revisa que esté bien "
        "capturado."
    ),
    "RP_OTRO_RFC": (
        "Este registro patronal ya aparece con otro RFC; un registro patronal pertenece a "
        "un solo RFC."
    ),
    "MECANISMO_INVALIDO": "El mecanismo de comunicación debe ser «correo» o «teléfono celular».",
    "SIN_MEDIO": "La fila no trae ningún correo ni celular; agrégalo o borra la fila.",
    "CORREO_INVALIDO": (
        "El correo electrónico no es válido; revisa que tenga la forma nombre@dominio.mx."
    ),
    "TELEFONO_INVALIDO": (
        "El celular debe ser un número de México de 10 dígitos (sin 044, 045 ni 01, "
        "y no 800 ni 900)."
    ),
    "CORREOS_EXCEDIDOS": (
        "Este alcance ya tiene 5 correos; se conservan los primeros 5 y los demás se rechazan."
    ),
    "TELEFONO_EXCEDIDO": (
        "Este alcance ya tiene otro celular; solo se permite uno por RFC o registro patronal."
    ),
}

ADVERTENCIAS: dict[str, str] = {
    "RFC_DIGITO": (
        "El dígito verificador del RFC no coincide; se acepta, pero confirma que el RFC "
        "sea correcto."
    ),
    "RP_DIGITO": (
        "El dígito verificador del registro patronal no corresponde; se acepta porque así "
        "está configurado, pero revísalo."
    ),
    "DUPLICADO": "Este medio ya aparece antes para el mismo alcance; no agrega nada.",
    "RFC_INCOMPLETO": (
        "El RFC queda sin correo o sin celular propio (sin registro patronal); no podrá "
        "activarse hasta tener ambos validados."
    ),
}

ORDEN = list(RECHAZOS)
