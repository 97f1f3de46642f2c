"""e.firma fixtures shaped like SAT's files, built once per session with `cryptography`.

Keys are few (RSA generation is the slow part) and reused across certificates where a test does
not care; the "key of another certificate" case uses a different key on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography.hazmat.primitives import serialization

from signers import demo

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MORAL = "EKU9003173C9"
REP = ("VADA800927DJ3", "VADA800927HSRSRL05")
FISICA = "XIQB891116QE4"
FISICA_CURP = "XIQB891116MGRMZR05"
NUMERO_MORAL = "30001000000500003416"


@dataclass(frozen=True)
class Par:
    cer: Path
    key: Path
    password: str
    rfc: str
    numero: str

    @property
    def password_file(self) -> Path:
        path = self.key.with_suffix(".pw")
        path.write_text(self.password + "\n", encoding="utf-8")
        path.chmod(0o600)  # `efirma check` refuses a password file others can read
        return path


@dataclass(frozen=True)
class Sat:
    now: datetime
    ca_dir: Path  # trusted CA (DER) and nothing else
    pares: dict[str, Par]
    root: Path
    # The identities inside the fixtures, for assertions.
    MORAL: ClassVar[str] = MORAL
    REP: ClassVar[tuple[str, str]] = REP
    FISICA: ClassVar[str] = FISICA
    FISICA_CURP: ClassVar[str] = FISICA_CURP
    NUMERO_MORAL: ClassVar[str] = NUMERO_MORAL

    def __getitem__(self, name: str) -> Par:
        return self.pares[name]


@pytest.fixture(scope="session")
def rsa_keys() -> dict[str, object]:
    return {name: demo.new_key() for name in ("ca", "forjada", "titular", "otra")}


@pytest.fixture(scope="session")
def sat(tmp_path_factory: pytest.TempPathFactory, rsa_keys: dict) -> Sat:
    root = tmp_path_factory.mktemp("sat")
    ca = demo.make_ca(NOW, nombre="AC DE PRUEBA DEL SAT", key=rsa_keys["ca"])
    # Same subject as the trusted CA, different key: issuer "present" but the signature is wrong.
    forjada = demo.make_ca(NOW, nombre="AC DE PRUEBA DEL SAT", key=rsa_keys["forjada"])
    ajena = demo.make_ca(NOW, nombre="AC AJENA", key=rsa_keys["forjada"])
    ca_dir = root / "ac"
    ca_dir.mkdir()
    (ca_dir / "ac-prueba.cer").write_bytes(ca.cert.public_bytes(serialization.Encoding.DER))
    titular, otra = rsa_keys["titular"], rsa_keys["otra"]
    vigente = {"not_before": NOW - timedelta(days=30), "not_after": NOW + timedelta(days=4 * 365)}
    specs = {
        "moral": (ca, MORAL, {"representante": REP, "nombre": "ESCUELA KEMPER URGATE SA DE CV"}),
        "fisica": (ca, FISICA, {"curp": FISICA_CURP, "nombre": "BERENICE XIMO QUEZADA"}),
        "csd": (ca, MORAL, {"representante": REP, "csd": True}),
        "vencida": (
            ca,
            FISICA,
            {"not_before": NOW - timedelta(days=5 * 365), "not_after": NOW - timedelta(days=1)},
        ),
        "futura": (
            ca,
            FISICA,
            {"not_before": NOW + timedelta(days=1), "not_after": NOW + timedelta(days=4 * 365)},
        ),
        "forjada": (forjada, FISICA, {"curp": FISICA_CURP}),
        "ajena": (ajena, FISICA, {"curp": FISICA_CURP}),
    }
    pares: dict[str, Par] = {}
    for name, (issuer, rfc, extra) in specs.items():
        extra = {**vigente, **extra}
        numero = NUMERO_MORAL if name == "moral" else demo.new_numero()
        cert = demo.make_certificate(issuer, rfc, key=titular, numero=numero, **extra)
        password = f"Clave-{name}-ñ 1"
        cer, key = root / f"{name}.cer", root / f"{name}.key"
        cer.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        key.write_bytes(demo.encrypt_key_sat(titular, password))
        pares[name] = Par(cer, key, password, rfc, numero)
        if name == "fisica":
            # PEM forms of the same pair (an encrypted PKCS#8 PEM key).
            cer_pem, key_pem = root / "fisica-pem.cer", root / "fisica-pem.key"
            cer_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            key_pem.write_bytes(
                titular.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(password.encode()),
                )
            )
            pares["fisica_pem"] = Par(cer_pem, key_pem, password, rfc, numero)
            # The certificate with the key of another holder.
            otra_key = root / "otra.key"
            otra_key.write_bytes(demo.encrypt_key_sat(otra, password))
            pares["otra_llave"] = Par(cer, otra_key, password, rfc, numero)
            # Truncated copies.
            (root / "trunca.cer").write_bytes(cer.read_bytes()[:400])
            (root / "trunca.key").write_bytes(key.read_bytes()[:600])
            pares["trunca_cer"] = Par(root / "trunca.cer", key, password, rfc, numero)
            pares["trunca_key"] = Par(cer, root / "trunca.key", password, rfc, numero)
    return Sat(now=NOW, ca_dir=ca_dir, pares=pares, root=root)
