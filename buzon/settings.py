"""Settings: one frozen object, read from ``BUZON_*`` environment variables.

Build it once at the entry point (``Settings()``) and pass it down. Nothing in the project reads
the environment at import time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the pipeline. Secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(env_prefix="BUZON_", frozen=True, extra="ignore")

    # Where the embedded default keeps its state (SQLite, keys, spool).
    home: Path = Path(".buzon")
    database_url: str | None = None
    # ISO 8601 instant replacing "now" everywhere (demos and tests only).
    now: datetime | None = None

    # Validation
    rp_digito_warning: bool = False  # downgrade RP_DIGITO from rejection to warning
    max_file_bytes: int = 200 * 1024 * 1024
    chunk_size: int = 5000
    # Workbooks are checked against these before any parse (loaders.guard): a sheet's range in
    # cells, and the archive's uncompressed size.
    max_cells: int = 20_000_000
    max_unzipped_bytes: int = 2**30

    # Institution seal (acuses). Empty: generated self-signed under home/keys on first use.
    seal_key: Path | None = None
    seal_cert: Path | None = None
    seal_key_password: SecretStr | None = None

    # Verification secrets (HMAC key). Empty: a key file under home/keys, made on first use.
    secret_key: SecretStr | None = None
    public_url: str = "http://127.0.0.1:8080"

    # Delivery
    email_transport: Literal["spool", "smtp"] = "spool"
    sms_transport: Literal["spool", "http"] = "spool"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_connections: int = 1
    smtp_timeout: float = 30.0
    email_from: str = "Buzón IMSS masivo <no-responder@buzon.local>"
    sms_url: str | None = None
    sms_token: SecretStr | None = None
    sms_timeout: float = 10.0
    sms_concurrency: int = 16
    send_rate: float = 0.0  # messages per second per transport; 0 = unlimited
    send_max_attempts: int = 6
    send_backoff_seconds: float = 30.0
    max_sends_per_medium: int = 5
    # Reminders (`buzon recordar`): pending media whose deadline is this close get one reminder.
    recordatorio_horas: int = 24

    # Callbacks
    webhook_secret: SecretStr | None = None
    max_wrong_codes: int = 5
    validity_hours: int = 72
    # Event files waiting for the next reconcile (default: home/eventos/entrada).
    inbox_dir: Path | None = None

    # Receiver hardening (callbacks.throttle, callbacks.middleware). Limits use the notation of the
    # ``limits`` package ("20 per 10 minutes"), counted over a moving window.
    rate_limit_storage: str = "memory://"  # e.g. redis://127.0.0.1:6379 for several receivers
    trusted_proxies: str = ""  # comma-separated addresses/networks whose X-Forwarded-For counts
    rate_limit_code_address: str = "20 per 10 minutes"  # /celular codes + resends, per address
    rate_limit_code_pair: str = "10 per 10 minutes"  # /celular codes + resends, per (RFC, phone)
    rate_limit_link_address: str = "30 per 10 minutes"  # POST /v/{token}, per address
    rate_limit_link_token: str = "10 per 10 minutes"  # POST /v/{token}, per link
    max_body_bytes: int = 64 * 1024  # any request body (webhooks included): 413 past this
    webhook_window_seconds: int = 300  # X-Buzon-Timestamp accepted this far from now
    webhook_reason_chars: int = 500  # a delivery failure's reason is cut to this length
    # How long a receiver POST waits for the store's write lock (a long reconcile) before 503.
    write_wait_seconds: float = 10.0

    # e.firma and Terms and Conditions
    sat_ca_dir: Path | None = None
    efirma_password: SecretStr | None = None
    tyc_file: Path | None = None
    tyc_version: str | None = None
    # Revocation: an OCSP responder (the issuer comes from sat_ca_dir); empty = not checked.
    sat_ocsp_url: str | None = None
    sat_ocsp_timeout: float = 10.0

    # Messages (issue 11): where a person asks for an aclaración when a message did not arrive.
    aclaraciones: str = (
        "en el Buzón IMSS, menú «Promociones Electrónicas», servicio «Aclaraciones u "
        "Orientaciones», asunto «Activación Buzón IMSS»"
    )

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def events_inbox(self) -> Path:
        return self.inbox_dir if self.inbox_dir is not None else self.home / "eventos" / "entrada"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'buzon.db').resolve()}"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file of :attr:`sqlalchemy_url` (None for other backends and for an
        in-memory database). Lets a command see whether a store exists without SQLAlchemy."""
        scheme, sep, rest = self.sqlalchemy_url.partition(":///")
        if not sep or scheme.split("+")[0] != "sqlite" or not rest or rest == ":memory:":
            return None
        return Path(rest.split("?")[0])

    def clock(self) -> datetime:
        """The current instant (UTC, aware), or ``BUZON_NOW`` when set."""
        return self.now if self.now is not None else datetime.now(UTC)
