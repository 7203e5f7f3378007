"""The subscribe pages of the WSGI app: ``/subscribe`` (form, POST) and ``/confirm`` (double
opt-in). Registered on ``syndicate.web``'s router when that module is imported.

* ``GET /subscribe`` shows the form; ``POST /subscribe`` (``email``, optional ``name``, the
  honeypot ``website`` that people never see and bots fill in, optional ``next``) checks the
  address and queues the request in the confirmation outbox (``delivery/confirm_outbox.py``),
  whose sender thread stores a pending subscriber and mails the link. Every accepted address
  gets the same page, status and work on the request path (one insert), so neither the answer
  nor its timing says who is subscribed, and a relay that is down or refuses a recipient
  shows nowhere. Rate-limited per client IP and per mailbox.
* ``GET /confirm?token=T`` changes nothing (mail scanners fetch links); it shows a button.
  ``POST /confirm`` with the token in the body activates the subscriber.

CSRF: a cross-site page cannot confirm anyone, because the confirm POST needs the secret
token from the reader's own mailbox; the ``Origin`` header, when a browser sends one, must be
the publication's site or this app. Redirects (``next``) only go to pages under
``[publication] base_url``. Every page is rendered by Jinja2 with autoescape on.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from ..config import configured_newsletters
from ..delivery.settings import subscribe_url
from ..delivery.subscribers import InvalidAddress, normalize_email
from ..delivery.tokens import BadToken, load_secret
from ..store.database import connect
from ..text.templates import render_template, template_environment
from .app import App, Request, Response, page, router
from .confirm_outbox import (
    ADDRESS_LIMIT,
    OutboxWorker,
    address_key,
    confirm_subscription,
    enqueue,
    ensure_outbox,
)
from .optin import (
    Outcome,
    RateLimiter,
    TokenExpired,
    allowed_origins,
    safe_redirect,
    verify_confirm_token,
)

log = logging.getLogger("syndicate.web")

HONEYPOT = "website"
TEMPLATE = "web/subscribe.html.j2"


class _AppState:
    """Per-app state: the rate limiters, the Jinja2 environment and the outbox's sender."""

    def __init__(self, app: App) -> None:
        settings = app.config.model.subscribe
        self.by_ip = RateLimiter(settings.rate_limit, settings.rate_window)
        # A second, tighter limit per mailbox (the outbox keeps a durable one too).
        self.by_address = RateLimiter(ADDRESS_LIMIT, settings.rate_window)
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]
        self.env = template_environment(app.config, autoescape=True)
        self.outbox = OutboxWorker(app.config)


_states: weakref.WeakKeyDictionary[App, _AppState] = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()


def _state(app: App) -> _AppState:
    with _states_lock:
        state = _states.get(app)
        if state is None:
            state = _states[app] = _AppState(app)
        return state


def _start_outbox(app: App) -> None:
    # Create the database (and switch it to WAL) before two threads race to do it.
    conn = connect(app.config.state_target)
    try:
        ensure_outbox(conn)
    finally:
        conn.close()
    _state(app).outbox.start()


def _stop_outbox(app: App) -> None:
    with _states_lock:
        state = _states.pop(app, None)
    if state is not None:
        state.outbox.stop()


router.startup.append(_start_outbox)
router.shutdown.append(_stop_outbox)


def _render(app: App, view: str, title: str, status: int, **context: Any) -> Response:
    """A page from ``web/subscribe.html.j2`` (autoescaped), inside the app's page frame."""
    body = render_template(
        _state(app).env,
        TEMPLATE,
        view=view,
        publication=app.config.publication,
        subscribe_url=subscribe_url(app.config),
        honeypot=HONEYPOT,
        **({"newsletters": []} | context),
    )
    return Response(status, page(title, body, publication=app.config.publication.title))


def _origin_refused(app: App, request: Request) -> Response | None:
    """403 when a browser says the form was posted from a foreign site."""
    sent = str(request.environ.get("HTTP_ORIGIN", "")).strip().lower()
    if not sent:
        return None  # not a browser, or one that sends no Origin on same-origin posts
    if sent in allowed_origins(app.config) or sent == _own_origin(request):
        return None
    log.warning("refused form post from origin %r", sent)
    return _render(
        app,
        "error",
        "Not allowed",
        HTTPStatus.FORBIDDEN,
        message="This form was sent from another website. Please use the form on our own pages.",
    )


def _own_origin(request: Request) -> str:
    """The origin this request was addressed to: a same-origin post is always fine."""
    scheme = str(request.environ.get("wsgi.url_scheme", "http")).lower()
    host = str(request.environ.get("HTTP_HOST", "")).strip().lower()
    return f"{scheme}://{host}" if host else ""


def _client(app: App, request: Request) -> str:
    """The client's IP, for the rate limit.

    REMOTE_ADDR, unless it is one of ``[subscribe] trusted_proxies``: behind a reverse proxy
    every request comes from the proxy, and one shared limit would turn readers away after a
    handful of sign-ups. Then the nearest X-Forwarded-For hop that is not a trusted proxy
    counts; hops further left are whatever the client sent, so they are never believed.
    """
    remote = str(request.environ.get("REMOTE_ADDR", "") or "unknown")
    proxies = _state(app).proxies
    if not proxies or not _is_proxy(remote, proxies):
        return remote
    hops = str(request.environ.get("HTTP_X_FORWARDED_FOR", "")).split(",")
    for hop in reversed([h.strip() for h in hops if h.strip()]):
        if not _is_proxy(hop, proxies):
            return hop
    return remote


def _is_proxy(address: str, proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def _newsletter_rows(app: App, ticked: Sequence[str] | None) -> list[dict[str, Any]]:
    """The form's newsletter checkboxes: the defaults ticked, or exactly ``ticked``."""
    return [
        {
            "id": item.id,
            "title": item.title,
            "description": item.settings.description,
            "checked": item.default if ticked is None else item.id in ticked,
        }
        for item in configured_newsletters(app.config)
    ]


@router.route("/subscribe", "GET")
def subscribe_form(app: App, request: Request) -> Response:
    """The form, for readers who arrive here rather than at a form on the site.

    ``?newsletter=climate`` (repeatable) ticks just those newsletters; unknown ids are
    ignored here (the form cannot post them back)."""
    wanted = [n for n in request.query.get("newsletter", []) if n in app.config.model.newsletters]
    return _render(
        app,
        "form",
        "Subscribe",
        HTTPStatus.OK,
        email="",
        subscriber_name="",
        error="",
        newsletters=_newsletter_rows(app, wanted or None),
    )


@router.route("/subscribe", "POST")
def subscribe(app: App, request: Request) -> Response:
    """Check the address and queue its confirmation; every accepted address, the same answer."""
    refused = _origin_refused(app, request)
    if refused is not None:
        return refused
    if not _state(app).by_ip.allow(_client(app, request)):
        return _render(
            app,
            "error",
            "Too many requests",
            HTTPStatus.TOO_MANY_REQUESTS,
            message="Too many sign-ups from your network. Please try again later.",
        )
    email = request.value("email").strip()
    name = request.value("name")
    ticked = list(dict.fromkeys(request.form.get("newsletter", [])))
    done = _done(app, request)
    if request.value(HONEYPOT):
        log.info("honeypot filled in; nothing stored or sent")
        return done
    error = ""
    try:
        address = normalize_email(email)
    except InvalidAddress as exc:
        error = f"That address does not look right: {exc}" if email else ""
        error = error or "Please enter your email address."
    if app.config.model.newsletters and not error:
        unknown = [n for n in ticked if n not in app.config.model.newsletters]
        if unknown:
            error = f"There is no newsletter {unknown[0]!r}. Please choose from the list."
        elif not ticked:
            error = "Please choose at least one newsletter."
    if error:
        known = [n for n in ticked if n in app.config.model.newsletters]
        return _render(
            app,
            "form",
            "Subscribe",
            HTTPStatus.BAD_REQUEST,
            email=email,
            subscriber_name=name,
            error=error,
            newsletters=_newsletter_rows(app, known),
        )
    load_secret()  # no secret, no links: say so now (500), not only in the sender's log
    if not _state(app).by_address.allow(address_key(address)):
        return done
    conn = connect(app.config.state_target)
    try:
        enqueue(conn, address, name=name, now=time.time(), newsletters=ticked)
    finally:
        conn.close()
    _state(app).outbox.wake()
    return done


def _done(app: App, request: Request) -> Response:
    """The one answer to every accepted form: a redirect to ``next`` on our site, or a page."""
    target = safe_redirect(app.config, request.value("next"))
    if target is not None:
        return Response(HTTPStatus.SEE_OTHER, "", headers=(("Location", target),))
    return _render(app, "check-inbox", "Check your inbox", HTTPStatus.OK)


def _token_problem(app: App, exc: Exception) -> Response:
    if isinstance(exc, TokenExpired):
        return _render(
            app,
            "expired",
            "Link expired",
            HTTPStatus.GONE,
            message="This confirmation link has expired. Please subscribe again.",
        )
    forged = isinstance(exc, BadToken) and exc.forged
    return _render(
        app,
        "error",
        "Link not valid",
        HTTPStatus.FORBIDDEN if forged else HTTPStatus.BAD_REQUEST,
        message="This confirmation link is not valid. Please use the link from the email.",
    )


@router.route("/confirm", "GET")
def confirm_page(app: App, request: Request) -> Response:
    """Check the token and show the button; nothing changes on a GET."""
    token = request.value("token")
    try:
        found = verify_confirm_token(load_secret(), token, now=datetime.now(UTC))
    except BadToken as exc:
        return _token_problem(app, exc)
    return _render(
        app, "confirm", "Confirm your subscription", HTTPStatus.OK, email=found.address, token=token
    )


@router.route("/confirm", "POST")
def confirm(app: App, request: Request) -> Response:
    """Activate the pending subscriber named by the (unused) token in the form body."""
    refused = _origin_refused(app, request)
    if refused is not None:
        return refused
    token = request.form.get("token", [""])[0]
    conn = connect(app.config.state_target)
    try:
        address, outcome = confirm_subscription(
            conn, token, secret=load_secret(), now=datetime.now(UTC)
        )
    except BadToken as exc:
        return _token_problem(app, exc)
    finally:
        conn.close()
    if outcome is Outcome.SUPPRESSED:
        return _render(
            app,
            "error",
            "Cannot subscribe this address",
            HTTPStatus.CONFLICT,
            message="This address cannot be subscribed any more. Please write to us.",
        )
    if outcome is None:
        return _render(
            app,
            "expired",
            "Link already used",
            HTTPStatus.GONE,
            message="This confirmation link was already used or is no longer valid. "
            "Please subscribe again.",
        )
    log.info("confirmed subscriber %s", address)
    return _render(app, "confirmed", "You are subscribed", HTTPStatus.OK, email=address)
