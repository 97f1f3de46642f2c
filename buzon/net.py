"""Opening the receiver's listening socket, so a bad address or a busy port is one clear line."""

from __future__ import annotations

import errno
import socket

from buzon.errors import InputError

# Linux and the BSDs disagree on some numbers; errno names them.
_REASONS = {
    errno.EADDRINUSE: "el puerto ya está en uso (¿otro `buzon serve` u otro programa?)",
    errno.EACCES: "sin permiso para ese puerto (los menores que 1024 requieren privilegios)",
    errno.EADDRNOTAVAIL: "esa dirección no pertenece a esta máquina",
}


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket on ``host:port`` for uvicorn (``Server.run(sockets=...)``).

    Binding here rather than inside uvicorn turns its English log lines and exit status 1 into
    one Spanish :class:`~buzon.errors.InputError` (exit 2), and leaves no window between a check
    and the bind.
    """
    if not 0 <= port <= 65535:
        raise InputError(f"--port debe estar entre 0 y 65535, no {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise InputError(f"no se puede escuchar en {host}:{port}: dirección desconocida") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
        raise InputError(f"no se puede escuchar en {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock
