"""A local Prefect server for ``buzon schedule`` when no ``PREFECT_API_URL`` is configured.

Prefect's ephemeral API (what a process without ``PREFECT_API_URL`` gets) cannot schedule flow
runs, so a schedule served on it never fires. This starts a real server on a free loopback port
with its state under ``$BUZON_HOME/prefect``, waits until it answers, and stops it with the
caller. No Prefect import here: the server is a separate process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from buzon.errors import ConfigError


def prefect_env(home: Path) -> dict[str, str]:
    """Environment that keeps Prefect's state under ``home`` and its analytics off."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PREFECT_HOME": str(home.resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        # A fresh PREFECT_HOME migrates its database first: on a busy machine that takes a while.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:  # noqa: S310 - loopback
            return resp.status == 200
    except OSError:
        return False


@contextmanager
def local_server(home: Path, *, timeout: float = 120.0) -> Iterator[str]:
    """Run ``prefect server start`` on a free loopback port; yields its API URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = os.environ | prefect_env(home)
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ConfigError(
                    f"no se pudo iniciar el servidor local de Prefect (registro: {home}/server.log)"
                )
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
