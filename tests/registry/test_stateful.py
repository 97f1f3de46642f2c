"""A stateful property test: random interleavings of every command on a real store.

Hypothesis drives apply (with and without ``--sync``), send (spool transports), link confirmations,
right and wrong SMS codes (event files through ``reconciliar``), resend, baja, the passing of time
(``BUZON_NOW`` moved forward, then expiry) and reconcile. After every step the store must hold:

- per-scope limits: at most 5 emails and 1 mobile per RFC/RP scope among active media;
- unique folios (a medium shares its folio only with its own acuse de registro);
- every state change audited exactly once: each medium's audit rows form one chain from its
  creation to its current state, every link a transition of ``registry/states.py``;
- idempotence: apply, send and reconcile run twice; the second run changes nothing.

The default profile is seed-pinned and short (CI); ``BUZON_HYPOTHESIS_PROFILE=largo`` runs long,
random interleavings. Pools are tiny on purpose so that limits, collisions and races happen.
"""

from __future__ import annotations

import csv
import email
import json
import os
import re
import shutil
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from hypothesis import event as note
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from registry_helpers import rp_valido
from sqlalchemy import Engine, func, select
from stateful_api import (
    ACTIVOS,
    apply_entries,
    baja_medio,
    dispatch,
    plan_files,
    puede,
    reconciliar,
    registro_reader,
    resend,
)

from buzon.errors import BuzonError
from buzon.settings import Settings
from registry.db import get_engine
from registry.tables import acuses, alcances, auditoria, eventos, medios, metadata, outbox
from signers.seal import Sello

RFCS = ["EKU9003173C9", "ABC680524P76"]
RPS = [rp_valido("Y39", 1), rp_valido("Y39", 2)]
CORREOS = [f"rh{i}@kumo.mx" for i in range(7)]
CELULARES = ["5512345678", "3336150000", "8112345678"]
ACTIVE = [str(e) for e in ACTIVOS]
LIMITES = {"correo": 5, "telefono": 1}
LARGO = os.environ.get("BUZON_HYPOTHESIS_PROFILE") == "largo"

entrada = st.tuples(
    st.sampled_from(RFCS),
    st.sampled_from([None, *RPS]),
    st.one_of(
        st.tuples(st.just("correo"), st.sampled_from(CORREOS)),
        st.tuples(st.just("celular"), st.sampled_from(CELULARES)),
    ),
)
medio_elegido = st.tuples(st.sampled_from(RFCS), st.sampled_from(CORREOS + CELULARES))
_LINK = re.compile(r"/v/([A-Za-z0-9_\-]{16,200})")
_CODE = re.compile(r"c[oó]digo de verificaci[oó]n es:? (\d{5})", re.IGNORECASE)


def _reset(engine: Engine, settings: Settings) -> None:
    """Empty the store and the spool: each example starts from nothing (no migration rerun)."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    shutil.rmtree(settings.spool_dir, ignore_errors=True)


def _snapshot(engine: Engine) -> tuple:
    """Everything a repeated step must leave as it was."""
    with engine.connect() as conn:
        return (
            conn.execute(select(medios).order_by(medios.c.id)).all(),
            conn.execute(select(alcances).order_by(alcances.c.id)).all(),
            conn.execute(select(outbox.c.id, outbox.c.estado, outbox.c.intentos)).all(),
            conn.execute(select(func.count()).select_from(acuses)).scalar_one(),
            conn.execute(select(func.count()).select_from(auditoria)).scalar_one(),
            conn.execute(select(func.count()).select_from(eventos)).scalar_one(),
        )


class Buzon(RuleBasedStateMachine):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.engine = get_engine(settings)
        self.sello = Sello.load(settings)
        self.n = 0  # files written
        _reset(self.engine, settings)

    # -- helpers -----------------------------------------------------------------------------
    def _file(self, suffix: str) -> Path:
        self.n += 1
        folder = self.settings.home / "cargas"
        folder.mkdir(exist_ok=True)
        return folder / f"f{self.n}{suffix}"

    def _tick(self, minutes: float = 1) -> None:
        now = self.settings.clock() + timedelta(minutes=minutes)
        self.settings = self.settings.model_copy(update={"now": now})

    def _twice(self, step, check_second) -> None:  # noqa: ANN001
        """Run ``step``; run it again: the store must not change and ``check_second`` holds."""
        step()
        before = _snapshot(self.engine)
        check_second(step())
        after = _snapshot(self.engine)
        assert after == before, f"repeating the step changed the store: {before} -> {after}"

    def _secrets(self) -> tuple[dict[int, str], dict[int, str]]:
        """Outbox id -> link token / SMS code, read from the spool as a recipient would."""
        tokens: dict[int, str] = {}
        for path in (self.settings.spool_dir / "email").glob("outbox-*.eml"):
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            body = msg.get_body(preferencelist=("plain", "html"))
            found = _LINK.search(body.get_content() if body else "")
            if found:
                tokens[int(path.stem.split("-")[1])] = found.group(1)
        codes: dict[int, str] = {}
        sms = self.settings.spool_dir / "sms.jsonl"
        if sms.exists():
            for line in sms.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                found = _CODE.search(rec.get("message", ""))
                if found:
                    codes[int(rec["reference"])] = found.group(1)
        return tokens, codes

    def _reconcile(self, event: dict) -> None:
        """One event at the current instant, imported from a file twice (the replay is skipped)."""
        path = self._file(".jsonl")
        line = event | {"fecha": self.settings.clock().isoformat()}
        path.write_text(json.dumps(line) + "\n", encoding="utf-8")

        def step() -> dict:
            return reconciliar(self.settings, [str(path)], engine=self.engine).as_json()

        note(f"{event['tipo']}: {json.dumps(step())}")  # the outcome mix, in the statistics

        self._twice(step, lambda again: assert_(again["applied"] == 0, again))

    def _sent(self, mecanismo: str) -> list:
        """Media sent and waiting, with their live send (outbox id)."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(medios.c.id, medios.c.rfc, medios.c.valor, medios.c.envio_vigente)
                .where(
                    medios.c.estado == "enviado",
                    medios.c.mecanismo == mecanismo,
                    medios.c.envio_vigente.is_not(None),
                )
                .order_by(medios.c.id)
            ).all()

    # -- rules --------------------------------------------------------------------------------
    @initialize()
    def registered_and_sent(self) -> None:
        """Every run starts with media of both kinds sent, so the event rules have work."""
        self.apply(
            [(RFCS[0], None, ("correo", CORREOS[0])), (RFCS[1], None, ("celular", CELULARES[0]))],
            sync=False,
        )
        self.send()

    @rule(filas=st.lists(entrada, min_size=1, max_size=6), sync=st.booleans())
    def apply(self, filas: list, sync: bool) -> None:
        self._tick()
        path = self._file(".csv")
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["RFC", "NRP", "Mecanismo", "Medio"])
            for rfc, rp, (mecanismo, medio) in filas:
                out.writerow([rfc, rp or "", mecanismo, medio])

        def step():  # noqa: ANN202
            reader = registro_reader(self.engine)
            plan = plan_files([path], self.settings, read_registro=reader, sync=sync)
            return apply_entries(
                self.engine, self.settings, plan.accepted, sync=sync, sello=self.sello
            )

        self._twice(step, lambda r: assert_(r.registered + r.updated + r.bajas == 0, r))

    @rule()
    def send(self) -> None:
        self._tick()
        self._twice(
            lambda: dispatch(self.settings, engine=self.engine),
            lambda stats: assert_(stats.sent == stats.processed == 0, stats),
        )

    def _pick(self, data: st.DataObject, mecanismo: str):  # noqa: ANN202
        """A sent medium of ``mecanismo`` and the secret of its live send, or None."""
        sent = self._sent(mecanismo)
        if not sent:
            return None
        m = data.draw(st.sampled_from(sent))
        tokens, codes = self._secrets()
        secret = (tokens if mecanismo == "correo" else codes).get(m.envio_vigente)
        assert secret is not None, "a sent medium's message is in the spool"
        self._tick()
        return m, secret

    @rule(data=st.data())
    def confirm_link(self, data: st.DataObject) -> None:
        if picked := self._pick(data, "correo"):
            self._reconcile({"tipo": "confirmacion_correo", "token": picked[1]})

    @rule(data=st.data(), right=st.booleans())
    def type_code(self, data: st.DataObject, right: bool) -> None:
        if picked := self._pick(data, "telefono"):
            m, code = picked
            if not right:
                code = f"{(int(code) + data.draw(st.integers(1, 99_999))) % 100_000:05d}"
            self._reconcile(
                {"tipo": "codigo_sms", "rfc": m.rfc, "telefono": m.valor, "codigo": code}
            )

    @rule(elegido=medio_elegido)
    def resend(self, elegido: tuple[str, str]) -> None:
        self._tick()
        before = _snapshot(self.engine)
        try:
            resend(self.settings, *elegido, engine=self.engine)
        except BuzonError:  # not active, already validated, out of sends: nothing changes
            assert _snapshot(self.engine) == before

    @rule(elegido=medio_elegido)
    def baja(self, elegido: tuple[str, str]) -> None:
        self._tick()
        before = _snapshot(self.engine)
        try:
            with self.engine.begin() as conn:
                baja_medio(conn, self.settings, *elegido, sello=self.sello)
        except BuzonError:
            assert _snapshot(self.engine) == before

    @rule(hours=st.sampled_from([1, 24, 73]))
    def time_passes(self, hours: int) -> None:
        """``BUZON_NOW`` moves forward; reconcile without files expires what is overdue."""
        self._tick(hours * 60)
        self._twice(
            lambda: reconciliar(self.settings, [], engine=self.engine).as_json(),
            lambda again: assert_(again["expired"] == 0, again),
        )

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def scopes_within_limits(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(alcances.c.rfc, alcances.c.rp, medios.c.mecanismo, func.count())
                .join(medios, medios.c.id == alcances.c.medio_id)
                .where(medios.c.estado.in_(ACTIVE))
                .group_by(alcances.c.rfc, alcances.c.rp, medios.c.mecanismo)
            ).all()
        for rfc, rp, mecanismo, n in rows:
            assert n <= LIMITES[mecanismo], f"{rfc}/{rp or 'RFC'}: {n} {mecanismo} activos"

    @invariant()
    def folios_unique(self) -> None:
        with self.engine.connect() as conn:
            de_medios = conn.execute(select(medios.c.folio, medios.c.id)).all()
            de_acuses = conn.execute(select(acuses.c.folio, acuses.c.tipo, acuses.c.medio_id)).all()
        assert len({f for f, _ in de_medios}) == len(de_medios)
        assert len({f for f, _, _ in de_acuses}) == len(de_acuses)
        registro = {f: (t, m) for f, t, m in de_acuses}
        for folio, medio_id in de_medios:
            if folio in registro:
                assert registro[folio] == ("registro", medio_id), f"folio {folio} compartido"

    @invariant()
    def every_change_audited_once(self) -> None:
        with self.engine.connect() as conn:
            estados = dict(conn.execute(select(medios.c.id, medios.c.estado)).all())
            filas = conn.execute(
                select(auditoria.c.entidad_id, auditoria.c.de_estado, auditoria.c.a_estado)
                .where(auditoria.c.entidad == "medio")
                .order_by(auditoria.c.id)
            ).all()
        cadenas: dict[int, list[tuple[str | None, str]]] = {}
        for entidad_id, de, a in filas:
            if de != a:  # rows that keep the state (resend, a wrong code) are not changes
                cadenas.setdefault(int(entidad_id), []).append((de, a))
        assert set(cadenas) == set(estados), "every medium, and only media, have a history"
        for medio_id, cadena in cadenas.items():
            assert cadena[0] == (None, "registrado"), f"medio {medio_id}: {cadena}"
            for (_, antes), (de, a) in zip(cadena, cadena[1:], strict=False):
                assert de == antes, f"medio {medio_id}: change missing or doubled: {cadena}"
                assert puede(de, a), f"medio {medio_id}: {de} -> {a} is not in the state table"
            assert cadena[-1][1] == estados[medio_id], f"medio {medio_id}: {cadena}"


def assert_(condition: bool, result: object) -> None:
    assert condition, f"the repeated step reported work: {result}"


@pytest.fixture
def machine_settings(rsettings: Settings) -> Settings:
    from datetime import UTC, datetime

    return rsettings.model_copy(
        update={"now": datetime(2024, 8, 8, 18, 0, tzinfo=UTC), "chunk_size": 4}
    )


def test_commands_interleaved_keep_the_invariants(machine_settings: Settings) -> None:
    get_engine(machine_settings).dispose()
    run_state_machine_as_test(
        lambda: Buzon(machine_settings),
        settings=hsettings(
            max_examples=300 if LARGO else 8,
            stateful_step_count=50 if LARGO else 12,
            derandomize=not LARGO,
            deadline=None,
        ),
    )
