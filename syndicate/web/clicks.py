"""The click redirector: ``GET /c/<edition>/<link-id>/<signature>`` -> 302 to the linked URL.

Only links an edition really carried are answered (``delivery.tracking`` registered them before
the send): the link must be in the click store and its signature must cover that edition, id
and exact target, or the answer is 404 (no open redirect, and no way to tell a forged link
from an unknown one). A GET adds one to the link's aggregate counter and nothing else is kept:
not the reader, not the address they came from, not their browser. HEAD redirects without
counting (link checkers and previewers send it). The access log leaves the client address
out for these paths (``app.access_logged``).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from urllib.parse import quote

from ..delivery.clicks import count_click, ensure_clicks_schema, link_target
from ..delivery.tokens import link_signature_matches, load_secret
from ..store.database import connect
from .app import App, Request, Response, page, router

log = logging.getLogger("syndicate.web")

CLICK_PREFIX = "/c/"
# Every printable ASCII character stays as it is (the target is the exact URL the edition
# linked to); only non-ASCII, which an HTTP header cannot carry, is percent-encoded as UTF-8.
_HEADER_SAFE = "".join(chr(code) for code in range(0x21, 0x7F))


def _not_found() -> Response:
    return Response(
        HTTPStatus.NOT_FOUND,
        page("Link not found", "<p>This link is not one of ours, or it was changed.</p>"),
    )


def _parts(path: str) -> tuple[str, str, str] | None:
    """(edition, link id, signature) from the path, or None when it has another shape."""
    # WSGI hands the path over as latin-1 decoded bytes; edition ids may be UTF-8.
    try:
        text = path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None
    pieces = text[len(CLICK_PREFIX) :].split("/")
    if len(pieces) != 3 or not all(pieces) or len(text) > 1024:
        return None
    return pieces[0], pieces[1], pieces[2]


@router.route(CLICK_PREFIX, "GET", "HEAD", prefix=True)
def follow_link(app: App, request: Request) -> Response:
    """Count the click (GET only) and send the reader on to the link's target."""
    parts = _parts(request.path)
    if parts is None:
        return _not_found()
    edition, link_id, signature = parts
    secret = load_secret()
    conn = connect(app.config.state_target)
    try:
        ensure_clicks_schema(conn)
        target = link_target(conn, edition, link_id)
        if target is None or not link_signature_matches(
            secret, edition, link_id, target, signature
        ):
            log.info("refused click link for edition %r", edition[:80])
            return _not_found()
        if request.method == "GET":
            count_click(conn, edition, link_id)
    finally:
        conn.close()
    location = quote(target, safe=_HEADER_SAFE)
    return Response(
        HTTPStatus.FOUND,
        page("Redirecting", "<p>This link continues to another page.</p>"),
        headers=(("Location", location),),
    )
