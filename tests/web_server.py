"""The WSGI app over real HTTP for tests: wsgiref on 127.0.0.1 in a thread, and one request.

``with web_server(config) as port:`` serves ``make_app(config)``; ``http_request(port, ...)``
sends one request over a real socket and returns (status, lower-cased headers, body text),
leaving redirects unfollowed so tests can assert on them. Confirmation emails leave through
the outbox's sender thread: ``outbox_drained(config)`` waits until it has mailed them.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from syndicate.config import Config
from syndicate.store.database import connect
from syndicate.web.app import access_logged, make_app
from syndicate.web.confirm_outbox import untried_count


class _Quiet(WSGIRequestHandler):
    """wsgiref logs every request to stderr; test output stays readable without it."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def web_server(config: Config) -> Iterator[int]:
    """``make_app(config)`` served by wsgiref on 127.0.0.1 in a thread; yields the port."""
    app = make_app(config)
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        outbox_drained(config)
        app.close()


def outbox_drained(config: Config, timeout: float = 15.0) -> None:
    """Wait until no confirmation waits in the outbox (the sender thread has mailed them)."""
    deadline = time.monotonic() + timeout
    while True:
        conn = connect(config.state_target)
        try:
            left = untried_count(conn)
        finally:
            conn.close()
        if not left:
            return
        assert time.monotonic() < deadline, f"{left} confirmation(s) still queued"
        time.sleep(0.02)


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One HTTP request over a real socket; redirects are returned, not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    text = response.read().decode("utf-8")
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, text


@contextmanager
def waitress_server(config: Config, *, logged: bool = False) -> Iterator[int]:
    """``make_app(config)`` on a real waitress server (as ``syndicate serve`` runs it, with
    its access log to stderr when ``logged``), 127.0.0.1, in a thread; yields the port."""
    from waitress.server import create_server

    app = make_app(config)
    server = create_server(
        access_logged(app) if logged else app, host="127.0.0.1", port=0, threads=4
    )
    port = int(server.effective_port)  # type: ignore[union-attr]
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):
            # Closing the server under its select loop (the only way to stop it from another
            # thread) makes that loop fail: expected once we are stopping, a bug otherwise.
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stopping.set()
        server.close()
        thread.join(timeout=5)
        app.close()
