"""A real uvicorn server on a free loopback port, per test, for the receiver."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import uvicorn

from buzon.settings import Settings
from callbacks.app import create_app


@pytest.fixture
def receptor() -> Iterator[Callable[[Settings], str]]:
    """``receptor(settings) -> base URL``: starts the receiver; every server stops at teardown."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(settings: Settings) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings), log_level="warning", lifespan="off", proxy_headers=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        ready = threading.Event()
        for _ in range(500):
            if server.started:
                ready.set()
                break
            ready.wait(0.01)
        assert server.started, "uvicorn did not start"
        running.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)
