"""Serving the app with uvicorn, and saying where it listens.

uvicorn's own start-up lines are below ageband's log level (``serve`` runs it at warning), so the
address is logged here, as one structured ``service.listening`` line per socket, with the real
port (also when port 0 asked the system for a free one), once a connection to it is taken:

- one process: after the socket is bound and the app's lifespan has started;
- several workers (``serve --workers N``): by the parent, once it has bound the socket the
  workers share and made it listen, so connections wait in its backlog until a worker is up.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Iterable

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from service.audit.logging import configure_logging, get_logger
from service.settings import Settings


def log_listening(sockets: Iterable[socket.socket]) -> None:
    """One ``service.listening`` line per bound TCP socket: its host and port."""
    log = get_logger("ageband")
    for sock in sockets:
        address = sock.getsockname()
        if isinstance(address, tuple):  # (host, port) for IPv4, (host, port, flow, scope) for IPv6
            log.info("service.listening", host=address[0], port=address[1])


class ListeningServer(uvicorn.Server):
    """uvicorn's server, logging the addresses it listens on once start-up is complete."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            log_listening(s for server in self.servers for s in server.sockets)


def run(config: uvicorn.Config, settings: Settings) -> None:
    """Run until stopped, as ``uvicorn.run`` does, and log where the service listens."""
    if config.workers > 1:
        _run_workers(config, settings)
        return
    server = ListeningServer(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has already shut down
        server.run()
    if not server.started:  # the lifespan or the bind failed; uvicorn has said why
        sys.exit(STARTUP_FAILURE)


def _run_workers(config: uvicorn.Config, settings: Settings) -> None:
    # The workers build their apps (and their logging) in processes of their own; the parent,
    # which only binds and supervises, logs this one line.
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    sock = config.bind_socket()
    sock.listen(config.backlog)  # each worker listens on it again when it starts: a no-op
    log_listening([sock])
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock]).run()
