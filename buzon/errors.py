"""Every error the project raises on purpose.

::

    BuzonError                      base; ``code`` and keyword-only context (archivo=, hoja=, ...)
    ├── ConfigError                 a setting or key file is unusable
    │   └── ReceiverConfigError     the receiver refuses to start (weak secret, bad limit; exit 2)
    ├── InputError                  an input file cannot be used at all (exit 2, nothing changed)
    │   ├── FileMissingError
    │   ├── UnsupportedFileError
    │   ├── FileTooLargeError
    │   ├── EmptyFileError
    │   ├── EncryptedFileError
    │   ├── CorruptFileError
    │   ├── EncodingError
    │   ├── NoHeaderError
    │   ├── EventFileError          a malformed line in an event file (reconcile)
    │   ├── UnmappedColumnError     an unknown column looks like RPs/emails/mobiles (stop)
    │   └── ColumnMappingError      a --columna mapping that cannot be used
    ├── IdentifierError (ValueError) an identifier fails its rules (stdnum style)
    │   ├── InvalidFormat
    │   ├── InvalidLength
    │   ├── InvalidChecksum
    │   └── InvalidComponent
    ├── RegistryError               the store refuses an operation
    │   ├── TransitionError         a state change the state machine forbids
    │   ├── NotFoundError           no such RFC / medium
    │   └── LimitReachedError       e.g. more than 5 sends for one medium
    ├── DeliveryError               a transport could not hand a message over
    │   ├── TemporaryDeliveryError  retry later (429, 5xx, timeouts, dropped connections)
    │   └── PermanentDeliveryError  never retry (4xx, rejected recipient)
    ├── InvariantError              an internal check failed: a bug (exit 70)
    └── EfirmaError                 an e.firma cannot sign; ``code`` is the EFIRMA_* code
        ├── EfirmaArchivoInvalido, EfirmaContrasena, EfirmaLlaveNoCorresponde, EfirmaEsCsd,
        ├── EfirmaVencida, EfirmaNoVigente, EfirmaRfcDistinto, EfirmaEmisorNoConfiable
        ├── EfirmaFirmaInvalida, EfirmaRevocada, EfirmaRevocacionNoVerificada
        └── SolicitudDesconocida    a signature for no open signing request of this registry

Errors carry their context as attributes; :meth:`BuzonError.one_line` renders the single line
the CLI prints. Only the CLI edge turns them into exit codes.
"""

from __future__ import annotations

from typing import Any


class BuzonError(Exception):
    """Base of every deliberate error. ``message`` is Spanish or English prose, one line."""

    code: str = "ERROR"
    exit_code: int = 1

    def __init__(self, message: str, *, code: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.context = {k: v for k, v in context.items() if v is not None}
        for key, value in context.items():
            setattr(self, key, value)

    def one_line(self) -> str:
        """``archivo:hoja:fila: message (other=context)`` on a single line."""
        ctx = dict(self.context)
        place = ":".join(str(ctx.pop(k)) for k in ("archivo", "hoja", "fila") if k in ctx)
        rest = ", ".join(f"{k}={v}" for k, v in ctx.items())
        text = f"{place}: {self.message}" if place else self.message
        text = f"{text} ({rest})" if rest else text
        return " ".join(text.split())


class ConfigError(BuzonError):
    code = "CONFIGURACION"


class InputError(BuzonError):
    code = "ENTRADA"
    exit_code = 2


class FileMissingError(InputError):
    code = "ARCHIVO_NO_EXISTE"


class UnsupportedFileError(InputError):
    code = "ARCHIVO_NO_SOPORTADO"


class FileTooLargeError(InputError):
    code = "ARCHIVO_DEMASIADO_GRANDE"


class EmptyFileError(InputError):
    code = "ARCHIVO_VACIO"


class EncryptedFileError(InputError):
    code = "ARCHIVO_CIFRADO"


class CorruptFileError(InputError):
    code = "ARCHIVO_DANADO"


class EncodingError(InputError):
    code = "CODIFICACION"


class NoHeaderError(InputError):
    code = "SIN_ENCABEZADO"


class EventFileError(InputError):
    code = "EVENTO_INVALIDO"


class IdentifierError(BuzonError, ValueError):
    code = "IDENTIFICADOR_INVALIDO"


class InvalidFormat(IdentifierError):
    code = "FORMATO"


class InvalidLength(IdentifierError):
    code = "LONGITUD"


class InvalidChecksum(IdentifierError):
    code = "DIGITO"


class InvalidComponent(IdentifierError):
    code = "COMPONENTE"


class RegistryError(BuzonError):
    code = "REGISTRO"


class TransitionError(RegistryError):
    code = "TRANSICION_INVALIDA"


class NotFoundError(RegistryError):
    code = "NO_ENCONTRADO"


class LimitReachedError(RegistryError):
    code = "LIMITE_ALCANZADO"


class DeliveryError(BuzonError):
    code = "ENTREGA"


class TemporaryDeliveryError(DeliveryError):
    code = "ENTREGA_TEMPORAL"


class PermanentDeliveryError(DeliveryError):
    code = "ENTREGA_PERMANENTE"


class EfirmaError(BuzonError):
    code = "EFIRMA"


class EfirmaArchivoInvalido(EfirmaError):
    code = "EFIRMA_ARCHIVO_INVALIDO"


class EfirmaContrasena(EfirmaError):
    code = "EFIRMA_CONTRASENA"


class EfirmaLlaveNoCorresponde(EfirmaError):
    code = "EFIRMA_LLAVE_NO_CORRESPONDE"


class EfirmaEsCsd(EfirmaError):
    code = "EFIRMA_ES_CSD"


class EfirmaVencida(EfirmaError):
    code = "EFIRMA_VENCIDA"


class EfirmaNoVigente(EfirmaError):
    code = "EFIRMA_NO_VIGENTE"


class EfirmaRfcDistinto(EfirmaError):
    code = "EFIRMA_RFC_DISTINTO"


class EfirmaEmisorNoConfiable(EfirmaError):
    code = "EFIRMA_EMISOR_NO_CONFIABLE"


class EfirmaFirmaInvalida(EfirmaError):
    code = "EFIRMA_FIRMA_INVALIDA"


class EfirmaRevocada(EfirmaError):
    code = "EFIRMA_REVOCADA"


class EfirmaRevocacionNoVerificada(EfirmaError):
    """OCSP could not say (responder down, bad or unknown answer): neither a pass nor a crash."""

    code = "EFIRMA_REVOCACION_NO_VERIFICADA"


class SolicitudDesconocida(EfirmaError):
    """Not an open request of this registry (unknown, used, replaced or another RFC's)."""

    code = "SOLICITUD_DESCONOCIDA"


class InvariantError(BuzonError):
    """An internal check failed (e.g. an accepted entry breaks its pandera model): a bug."""

    code = "ERROR_INTERNO"
    exit_code = 70  # EX_SOFTWARE


# --- Issue 11: columns an upload would lose, and RFCs activated before 06/08/2024 ---------------


class UnmappedColumnError(InputError):
    """A column the tool does not recognize holds what looks like RPs, emails or mobiles."""

    code = "COLUMNA_SIN_MAPEO"


class ColumnMappingError(InputError):
    """A ``--columna "ENCABEZADO=campo"`` that cannot be used."""

    code = "COLUMNA_MAPEO_INVALIDO"


class ReceiverConfigError(ConfigError):
    """``buzon serve`` refuses to start: a weak webhook secret, a bad limit or proxy list."""

    code = "CONFIGURACION_RECEPTOR"
    exit_code = 2
