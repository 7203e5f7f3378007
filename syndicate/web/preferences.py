"""The reader's preferences page: ``/preferences?newsletter=ID&token=T`` (``[newsletters]``).

Every newsletter email links it (footer and ``List-Unsubscribe``); the token is signed for
the reader's address and the newsletter the email came from, and is the only credential,
so there is no account. ``GET`` shows every newsletter with a checkbox and, where offered,
the cadence; it changes nothing (link scanners fetch every URL). ``POST`` saves (or, with
``action=everything``, unsubscribes from everything) after the same Origin check as the
subscribe form. A ``POST`` with ``List-Unsubscribe=One-Click`` (RFC 8058, sent by mail
programs) unsubscribes from the link's newsletter only.

Everything is written in one transaction and read again by the sender at every claim, so
a change made while an edition is being sent holds for every message not yet handed over.
"""

from __future__ import annotations

import logging
import threading
import weakref
from http import HTTPStatus
from typing import Any

from ..config import configured_newsletters
from ..delivery import choices
from ..delivery import subscriptions as subs
from ..delivery.subscribers import (
    Status,
    Subscriber,
    get_subscriber,
    set_status,
    unsubscribe,
)
from ..delivery.tokens import BadToken, load_secret, newsletter_purpose, verify_token
from ..errors import UsageError
from ..store.database import connect
from ..text.templates import render_template, template_environment
from .app import App, Request, Response, address_stored, page, router
from .optin import allowed_origins

log = logging.getLogger("syndicate.web")

TEMPLATE = "web/preferences.html.j2"

_envs: weakref.WeakKeyDictionary[App, Any] = weakref.WeakKeyDictionary()
_envs_lock = threading.Lock()


def _render(app: App, view: str, title: str, status: int, **context: Any) -> Response:
    """A page from ``web/preferences.html.j2`` (autoescaped) in the app's frame."""
    with _envs_lock:
        env = _envs.get(app)
        if env is None:
            env = _envs[app] = template_environment(app.config, autoescape=True)
    context.setdefault("notice", "")
    context.setdefault("newsletter", "")
    context.setdefault("token", "")
    context.setdefault("email", "")
    body = render_template(env, TEMPLATE, view=view, publication=app.config.publication, **context)
    return Response(status, page(title, body, publication=app.config.publication.title))


def _error(app: App, status: int, title: str, message: str) -> Response:
    return _render(app, "error", title, status, message=message)


def _reader(app: App, request: Request) -> tuple[str, str, Response | None]:
    """(address, newsletter) a genuine link names, or the 400/403 page to answer instead."""
    if not app.config.model.newsletters:
        return (
            "",
            "",
            _error(
                app,
                HTTPStatus.NOT_FOUND,
                "Not found",
                "This publication has one newsletter; use the unsubscribe link in its emails.",
            ),
        )
    token = request.value("token")
    newsletter = request.value("newsletter")
    if not token or not newsletter:
        return (
            "",
            "",
            _error(
                app,
                HTTPStatus.BAD_REQUEST,
                "Link not complete",
                "This link is missing part of its code. Please use the link from the email.",
            ),
        )
    try:
        address = verify_token(
            load_secret(),
            token,
            newsletter_purpose(newsletter),
            stored=lambda a: address_stored(app, a),
        )
    except BadToken as exc:
        log.warning("refused preferences token: %s", exc)
        return (
            "",
            "",
            _error(
                app,
                HTTPStatus.FORBIDDEN if exc.forged else HTTPStatus.BAD_REQUEST,
                "Link not valid",
                "This link is not valid. Please use the link from the most recent "
                "email, or reply to it and ask to be removed.",
            ),
        )
    return address, newsletter, None


def _open(app: App) -> Any:
    conn = connect(app.config.state_target)
    choices.ensure(app.config, conn)
    return conn


def _gone(app: App) -> Response:
    """A signed link for an address we no longer hold (erased on request)."""
    return _error(
        app,
        HTTPStatus.NOT_FOUND,
        "Not subscribed",
        "We hold no subscription for this address any more, so nothing will be sent to it.",
    )


def _rows(app: App, conn: Any, subscriber: Subscriber) -> list[dict[str, Any]]:
    current = {row.newsletter: row for row in subs.subscriptions_of(conn, subscriber.id)}
    receiving = subscriber.status == "active"
    rows = []
    for item in configured_newsletters(app.config):
        row = current.get(item.id)
        active = receiving and row is not None and row.status is subs.SubStatus.ACTIVE
        rows.append(
            {
                "id": item.id,
                "title": item.title,
                "description": item.settings.description,
                "active": active,
                "cadences": list(item.cadences),
                "cadence": (row.cadence if row is not None and row.cadence else "")
                or item.default_cadence,
            }
        )
    return rows


def _title_of(app: App, newsletter: str) -> str:
    for item in configured_newsletters(app.config):
        if item.id == newsletter:
            return item.title
    return newsletter


@router.route("/preferences", "GET")
def preferences_page(app: App, request: Request) -> Response:
    """The form; changes nothing."""
    address, newsletter, refused = _reader(app, request)
    if refused is not None:
        return refused
    conn = _open(app)
    try:
        subscriber = get_subscriber(conn, address)
        if subscriber is None:
            return _gone(app)
        rows = _rows(app, conn, subscriber)
    finally:
        conn.close()
    notice = ""
    if newsletter not in {row["id"] for row in rows}:
        notice = f"The newsletter this link came from ({newsletter}) is no longer published."
    if subscriber.status in (Status.BOUNCED, Status.COMPLAINED):
        # Choices are kept, but saving them does not lift a suppression: that needs a person.
        notice = (
            "We stopped sending to this address because mail to it bounced or was reported "
            "as spam. Please reply to one of our emails to start again."
        )
    return _render(
        app,
        "form",
        "Your newsletters",
        HTTPStatus.OK,
        email=address,
        token=request.value("token"),
        newsletter=newsletter,
        rows=rows,
        notice=notice,
    )


@router.route("/preferences", "POST")
def preferences_save(app: App, request: Request) -> Response:
    """One-click (that newsletter only), save, or unsubscribe from everything."""
    address, newsletter, refused = _reader(app, request)
    if refused is not None:
        return refused
    one_click = request.value("List-Unsubscribe") == "One-Click"
    if not one_click:
        origin = _origin_refused(app, request)
        if origin is not None:
            return origin
    token = request.value("token")
    conn = _open(app)
    try:
        subscriber = get_subscriber(conn, address)
        if subscriber is None:
            return _gone(app)
        if one_click:
            subs.unsubscribe_from(conn, subscriber.id, newsletter, how="one-click")
            log.info("unsubscribed %s from %s (one-click)", address, newsletter)
            return _render(
                app,
                "left-one",
                "Unsubscribed",
                HTTPStatus.OK,
                email=address,
                token=token,
                newsletter=newsletter,
                left=_title_of(app, newsletter),
            )
        if request.form.get("action", [""])[0] == "everything":
            subs.unsubscribe_everything(conn, subscriber.id, how="preferences")
            unsubscribe(conn, address, how="preferences")
            log.info("unsubscribed %s from everything (preferences)", address)
            return _render(app, "left-all", "You are unsubscribed", HTTPStatus.OK, email=address)
        chosen = {
            name: request.form.get(f"cadence-{name}", [""])[0]
            for name in dict.fromkeys(request.form.get("choose", []))
        }
        try:
            choices.set_preferences(app.config, conn, subscriber, chosen, how="preferences")
        except UsageError as exc:
            return _error(
                app,
                HTTPStatus.BAD_REQUEST,
                "Not saved",
                f"Nothing was changed: {exc}. Please reload the page and try again.",
            )
        if chosen and subscriber.status is Status.UNSUBSCRIBED:
            # Choosing a newsletter again on their own page is renewed consent.
            set_status(conn, address, Status.ACTIVE, reason="resubscribed on the preferences page")
        saved = [row for row in _rows(app, conn, subscriber) if row["id"] in chosen]
        for row in saved:
            row["cadence"] = chosen[row["id"]] if row["cadences"] else ""
    finally:
        conn.close()
    log.info("saved preferences of %s: %s", address, " ".join(chosen) or "none")
    return _render(
        app,
        "saved",
        "Saved",
        HTTPStatus.OK,
        email=address,
        token=token,
        newsletter=newsletter,
        rows=saved,
    )


def _origin_refused(app: App, request: Request) -> Response | None:
    """403 when a browser says the form was posted from a foreign site (as /subscribe)."""
    sent = str(request.environ.get("HTTP_ORIGIN", "")).strip().lower()
    if not sent:
        return None
    scheme = str(request.environ.get("wsgi.url_scheme", "http")).lower()
    host = str(request.environ.get("HTTP_HOST", "")).strip().lower()
    if sent in allowed_origins(app.config) or (host and sent == f"{scheme}://{host}"):
        return None
    log.warning("refused preferences post from origin %r", sent)
    return _error(
        app,
        HTTPStatus.FORBIDDEN,
        "Not allowed",
        "This form was sent from another website. Please use the link from our email.",
    )
