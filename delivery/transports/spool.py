"""The embedded default: messages land as files a person can open.

Emails: ``spool/email/outbox-<id>.eml`` written to a temporary file and renamed, so a reader never
sees half a message and a re-send after a crash replaces the file instead of adding one.
SMS: one JSON line per send in ``spool/sms.jsonl``, appended with a single ``O_APPEND`` write and
fsync'ed, so concurrent writers never interleave and an accepted line survives a crash.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

from buzon.files import PRIVATE_FILE, atomic_write, private_dir, private_file
from buzon.settings import Settings
from delivery.ratelimit import TokenBucket
from delivery.render import Message, email_bytes


class SpoolEmailTransport:
    name = "spool-correo"
    workers = 1

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = settings.spool_dir / "email"
        self.bucket = TokenBucket(settings.send_rate)

    @contextmanager
    def session(self) -> Iterator[SpoolEmailTransport]:
        private_dir(self.directory)
        yield self

    def send(self, message: Message) -> None:
        self.bucket.acquire()
        data = email_bytes(message, self.settings.email_from, self.settings.clock())
        # A live verification link: only the owner may read it.
        atomic_write(self.directory / f"outbox-{message.outbox_id}.eml", data, mode=PRIVATE_FILE)


class SpoolSmsTransport:
    name = "spool-sms"
    workers = 1

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.spool_dir / "sms.jsonl"
        self.bucket = TokenBucket(settings.send_rate)

    @contextmanager
    def session(self) -> Iterator[SpoolSmsTransport]:
        private_dir(self.path.parent)
        private_file(self.path)  # live codes: owner-only, also a file an older version left 0644
        yield self

    def send(self, message: Message) -> None:
        self.bucket.acquire()
        record = {
            "to": message.to,
            "message": message.text,
            "reference": message.outbox_id,
            "at": self.settings.clock().isoformat(),
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        try:
            os.write(fd, line)  # one write: O_APPEND makes it atomic against other writers
            os.fsync(fd)
        finally:
            os.close(fd)
