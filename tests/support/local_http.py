"""What the fake servers (providers, Stripe) share: a threaded HTTP/1.1 server on a free
127.0.0.1 port, run in a daemon thread, with start/stop and a context manager."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # 100+ concurrent clients in the benchmarks
    allow_reuse_address = True
    fake: Any  # the fake whose handler answers


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: LocalServer

    def setup(self) -> None:
        super().setup()
        # Answers are small writes; without TCP_NODELAY, Nagle's algorithm and the client's
        # delayed ACK add ~40 ms to each, which a real API does not.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ServedFake:
    """Base of a fake API: subclasses set HANDLER and answer in it via `self.server.fake`."""

    HANDLER: ClassVar[type[QuietHandler]]
    _server: LocalServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = LocalServer(("127.0.0.1", 0), self.HANDLER)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
