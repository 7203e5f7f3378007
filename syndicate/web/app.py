"""The small WSGI app readers reach from their email: one-click unsubscribe (RFC 8058).

``POST /unsubscribe?token=T`` unsubscribes at once, with no confirmation step: that is what
Gmail's and Yahoo's unsubscribe button sends (body ``List-Unsubscribe=One-Click``).
``GET /unsubscribe?token=T`` never changes anything (link scanners fetch every URL in a
message); it shows a page with a button that POSTs. A malformed token gets 400, a forged or
tampered one 403, and nothing changes.

A plain WSGI app, so it runs under ``syndicate serve`` (waitress: threaded, reads whole
requests before the app sees them, drops idle connections), gunicorn (``gunicorn
syndicate.web:app``) or any WSGI server. ``app`` reads the config named by
$SYNDICATE_CONFIG (default ./config.toml) on its first request; ``make_app(config)`` builds
one for a given config. Routes live in a tiny ``Router`` so new pages are one decorator away;
``Router.startup`` hooks run once, on an app's first request (the confirmation outbox's
sender thread starts so, in every server process).
"""

from __future__ import annotations

import html
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..config import Config, load_config
from ..delivery.subscribers import ensure_subscribers, stored_exactly, unsubscribe
from ..delivery.tokens import BadToken, load_secret, verify_token
from ..errors import SyndicateError
from ..store.database import connect

log = logging.getLogger("syndicate.web")

MAX_BODY = 64 * 1024
Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Request:
    """What a handler needs from the WSGI environ: method, path, query and form fields."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    environ: Environ

    def value(self, name: str) -> str:
        """A field from the form, else the query string, else ''."""
        values = self.form.get(name) or self.query.get(name) or [""]
        return values[0]


@dataclass(frozen=True, slots=True)
class Response:
    """A complete answer: status code, extra headers and an HTML (or other) body."""

    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/html; charset=utf-8"


Handler = Callable[["App", Request], Response]


@dataclass(slots=True)
class Router:
    """Maps (method, path) to handlers; HEAD falls back to GET. A path ending in ``/`` given
    to ``route(..., prefix=True)`` takes every path under it (``/c/<edition>/...``)."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    prefixes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    startup: list[Callable[[App], None]] = field(default_factory=list)
    shutdown: list[Callable[[App], None]] = field(default_factory=list)

    def route(self, path: str, *methods: str, prefix: bool = False) -> Callable[[Handler], Handler]:
        """Decorator: ``@router.route("/unsubscribe", "GET")``."""
        table = self.prefixes if prefix else self.routes

        def register(handler: Handler) -> Handler:
            for method in methods:
                table[(method.upper(), path)] = handler
            return handler

        return register

    def _lookup(self, method: str, path: str) -> tuple[Handler | None, set[str]]:
        """The handler for (method, path) and every method the path answers."""
        handler = self.routes.get((method, path))
        allowed = {m for (m, p) in self.routes if p == path}
        if not allowed:
            matches = {(m, p) for (m, p) in self.prefixes if path.startswith(p)}
            allowed = {m for (m, _) in matches}
            for m, p in matches:
                if m == method:
                    handler = self.prefixes[(m, p)]
        return handler, allowed

    def find(self, method: str, path: str) -> Handler | Response:
        """The handler for a request, or the 404/405 response."""
        handler, allowed_methods = self._lookup(method, path)
        if handler is None and method == "HEAD":
            handler, _ = self._lookup("GET", path)
        if handler is not None:
            return handler
        allowed = sorted(allowed_methods)
        if allowed:
            return Response(
                HTTPStatus.METHOD_NOT_ALLOWED,
                page("Method not allowed", "<p>This address does not answer that request.</p>"),
                headers=(("Allow", ", ".join(allowed)),),
            )
        return Response(HTTPStatus.NOT_FOUND, page("Not found", "<p>Nothing here.</p>"))


router = Router()

SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Robots-Tag", "noindex, nofollow"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),  # no clickjacking of the buttons, in browsers without CSP 2
)

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;"
    "color:#222}*,*::before,*::after{box-sizing:border-box}input,button{max-width:100%}"
    "button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:4px;"
    "background:#b3261e;color:#fff;cursor:pointer}"
    "@media (prefers-color-scheme:dark){body{background:#111;color:#eee}}"
)


def page(title: str, body_html: str, *, publication: str = "") -> str:
    """A minimal, self-contained HTML page (no external assets, readable in dark mode)."""
    heading = html.escape(f"{publication}: {title}" if publication else title)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{heading}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body_html}</body></html>"
    )


class App:
    """A WSGI application bound to one publication's config (loaded lazily)."""

    def __init__(self, config: Config | None = None, *, routes: Router = router) -> None:
        self._config = config
        self._lock = threading.Lock()
        self.router = routes
        self._started = False

    @property
    def config(self) -> Config:
        """The publication config; the default app loads $SYNDICATE_CONFIG on first use."""
        with self._lock:
            if self._config is None:
                self._config = load_config()
            return self._config

    def start(self) -> None:
        """Run the router's startup hooks (once; ``serve`` calls it before the first request)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        for hook in self.router.startup:
            hook(self)

    def close(self) -> None:
        """Run the shutdown hooks (stop background threads); the app may start again later."""
        with self._lock:
            started, self._started = self._started, False
        if started:
            for hook in self.router.shutdown:
                hook(self)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "") or "/")
        try:
            if not self._started:
                self.start()
            response = self._respond(environ, method, path)
        except SyndicateError as exc:
            # A server-side problem (no SYNDICATE_SECRET, bad config): say so in the log,
            # never to the reader.
            log.error("cannot answer %s %s: %s", method, path, exc)
            text = "<p>Something is wrong on our side. Please try again later.</p>"
            response = Response(HTTPStatus.INTERNAL_SERVER_ERROR, page("Server error", text))
        payload = response.body.encode("utf-8")
        headers = [
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(payload))),
            *SECURITY_HEADERS,
            *response.headers,
        ]
        status = HTTPStatus(response.status)
        start_response(f"{status.value} {status.phrase}", headers)
        return [b""] if method == "HEAD" else [payload]

    def _respond(self, environ: Environ, method: str, path: str) -> Response:
        found = self.router.find(method, self.mount(path))
        if isinstance(found, Response):
            return found
        try:
            return found(self, self._request(environ, method, path))
        except _BadRequest as exc:
            return Response(HTTPStatus.BAD_REQUEST, page("Bad request", exc.html))

    def mount(self, path: str) -> str:
        """Map the path of ``[email] unsubscribe_url`` (e.g. /news/unsub) to /unsubscribe."""
        configured = urlsplit(self.config.model.email.unsubscribe_url).path.rstrip("/")
        if configured and path.rstrip("/") == configured:
            return "/unsubscribe"
        return path

    def _request(self, environ: Environ, method: str, path: str) -> Request:
        query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        form: dict[str, list[str]] = {}
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY:
                raise _BadRequest("<p>Request too large.</p>")
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            kind = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
            if kind == "multipart/form-data":
                # RFC 8058 receivers SHOULD post multipart; its one field is all we look at.
                if b"List-Unsubscribe" in body and b"One-Click" in body:
                    form = {"List-Unsubscribe": ["One-Click"]}
            else:
                form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return Request(method, path, query, form, environ)


class _BadRequest(Exception):
    def __init__(self, html_text: str) -> None:
        super().__init__(html_text)
        self.html = html_text


def _check_token(app: App, request: Request) -> tuple[str, Response | None]:
    """The address a genuine token names, or the 400/403 response to send instead."""
    title = app.config.publication.title
    token = request.value("token")
    if not token:
        body = page("Missing link code", "<p>This link has no unsubscribe code.</p>")
        return "", Response(HTTPStatus.BAD_REQUEST, body)
    try:
        return verify_token(load_secret(), token, stored=lambda a: address_stored(app, a)), None
    except BadToken as exc:
        log.warning("refused unsubscribe token: %s", exc)
        status = HTTPStatus.FORBIDDEN if exc.forged else HTTPStatus.BAD_REQUEST
        text = (
            "<p>This unsubscribe link is not valid. Please use the link from the most "
            "recent email, or reply to it and ask to be removed.</p>"
        )
        return "", Response(status, page("Link not valid", text, publication=title))


def address_stored(app: App, address: str) -> bool:
    """Whether ``address`` is stored exactly so (for links signed before case mattered)."""
    conn = connect(app.config.state_target)
    try:
        return stored_exactly(conn, address)
    finally:
        conn.close()


@router.route("/unsubscribe", "GET")
def confirm_page(app: App, request: Request) -> Response:
    """The human page: says what will happen and offers a button. Changes nothing."""
    address, refused = _check_token(app, request)
    if refused is not None:
        return refused
    title = app.config.publication.title
    token = html.escape(request.value("token"), quote=True)
    body = (
        f"<p>Stop sending <strong>{html.escape(title)}</strong> to "
        f"<strong>{html.escape(address)}</strong>?</p>"
        f'<form method="post" action="?token={token}">'
        f'<input type="hidden" name="token" value="{token}">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return Response(HTTPStatus.OK, page("Unsubscribe", body, publication=title))


@router.route("/unsubscribe", "POST")
def unsubscribe_now(app: App, request: Request) -> Response:
    """RFC 8058 one-click (and the page's button): unsubscribe at once."""
    address, refused = _check_token(app, request)
    if refused is not None:
        return refused
    one_click = request.value("List-Unsubscribe") == "One-Click"
    conn = connect(app.config.state_target)
    try:
        ensure_subscribers(conn)
        unsubscribe(conn, address, how="one-click" if one_click else "web")
    finally:
        conn.close()
    log.info("unsubscribed %s (%s)", address, "one-click" if one_click else "web")
    title = app.config.publication.title
    body = (
        f"<p><strong>{html.escape(address)}</strong> will get no more emails from "
        f"{html.escape(title)}.</p>"
    )
    return Response(HTTPStatus.OK, page("You are unsubscribed", body, publication=title))


@router.route("/", "GET")
def index(app: App, request: Request) -> Response:
    """A plain page so a visit to the root does not look broken."""
    title = app.config.publication.title
    body = "<p>This server handles newsletter links. There is nothing to see here.</p>"
    return Response(HTTPStatus.OK, page(title, body))


def make_app(config: Config) -> App:
    """A WSGI app for ``config`` (used by ``syndicate serve`` and the tests)."""
    return App(config)


_TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s\"]+")


def redact_tokens(text: str) -> str:
    """``/unsubscribe?token=...`` as ``/unsubscribe?token=[redacted]``, for log lines.

    A token is a credential: whoever has it can unsubscribe or confirm that address, and
    access logs are kept, rotated and shared with little care.
    """
    return _TOKEN_IN_URL.sub(r"\1[redacted]", text)


def access_logged(wsgi: Callable[[Environ, StartResponse], Iterable[bytes]]) -> Any:
    """``wsgi`` writing one access-log line per request to stderr, tokens redacted.

    The line is written when the response starts, before its first byte is sent: a log
    written after the reply (as wsgiref does) is lost when the server stops right after it.
    """

    def logged(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            stamp = datetime.now(UTC).strftime("%d/%b/%Y %H:%M:%S")
            target = str(environ.get("PATH_INFO", ""))
            if environ.get("QUERY_STRING"):
                target += f"?{environ['QUERY_STRING']}"
            # A click on a tracked link is counted, never tied to a reader: no address.
            client = "-" if target.startswith("/c/") else environ.get("REMOTE_ADDR", "-")
            line = (
                f"{client} - - [{stamp}] "
                f'"{environ.get("REQUEST_METHOD", "-")} {target} '
                f'{environ.get("SERVER_PROTOCOL", "HTTP/1.1")}" {status.split(" ", 1)[0]}'
            )
            sys.stderr.write(redact_tokens(line) + "\n")
            sys.stderr.flush()
            return start_response(status, headers, *exc_info)

        return wsgi(environ, start)

    return logged


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the app with waitress until interrupted.

    waitress reads each request (headers and body, within limits) on its I/O thread and
    hands only complete ones to its worker threads, so a client that sends half its headers
    stalls no one; idle connections are dropped after ``CHANNEL_TIMEOUT`` seconds.
    """
    from waitress.server import create_server  # only `syndicate serve` needs waitress

    application = make_app(config)
    application.start()  # drain confirmations an earlier run left in the outbox
    server = create_server(
        access_logged(application),
        host=host,
        port=port,
        threads=THREADS,
        channel_timeout=CHANNEL_TIMEOUT,
        max_request_header_size=MAX_HEADER,
        max_request_body_size=MAX_BODY,
        connection_limit=CONNECTION_LIMIT,
        backlog=1024,
        ident="syndicate",
        clear_untrusted_proxy_headers=True,
    )
    log.debug("listening on http://%s:%s/", host, port)  # the CLI says it
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        server.close()
        application.close()


THREADS = 8
CHANNEL_TIMEOUT = 20  # seconds without a byte from the client before its connection closes
MAX_HEADER = 16 * 1024
CONNECTION_LIMIT = 1000


app = App()
