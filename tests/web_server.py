"""The WSGI app over real HTTP for tests: wsgiref on 127.0.0.1 in a thread, and one request.

``with web_server(config) as port:`` serves ``make_app(config)``; ``http_request(port, ...)``
sends one request over a real socket and returns (status, lower-cased headers, body text),
leaving redirects unfollowed so tests can assert on them.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from syndicate.config import Config
from syndicate.web import make_app


class _Quiet(WSGIRequestHandler):
    """wsgiref logs every request to stderr; test output stays readable without it."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def web_server(config: Config) -> Iterator[int]:
    """``make_app(config)`` served by wsgiref on 127.0.0.1 in a thread; yields the port."""
    server: WSGIServer = make_server("127.0.0.1", 0, make_app(config), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
