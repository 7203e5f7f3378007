"""Click tracking without tracking people: the HTML part's links, rewritten through the redirector.

With ``[tracking] clicks = true``, every ``http(s)`` link of an edition's HTML part becomes
``<app>/c/<edition>/<link-id>/<signature>``, which ``syndicate serve`` answers with a 302 to the
exact original URL after adding one to that link's counter (``clicks``). The link is the same
for every recipient: nothing in it says who clicked. The plain-text part keeps its direct links,
per-recipient links (unsubscribe, view in browser: still placeholders here) are left alone, and
there is no open-tracking pixel.

The link id is a digest of the URL, so re-rendering the edition on a resumed send gives the
same ids; the signature (``tokens.link_signature``) covers edition, id and target, so the
redirector is never an open redirect.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from dataclasses import dataclass, replace
from urllib.parse import quote

from .clicks import TrackedLink
from .rendered import RenderedEdition
from .tokens import link_signature

CLICK_PATH = "/c/"
_ANCHOR = re.compile(r"<a\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
_HREF = re.compile(r"""(\shref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_TRACKABLE = re.compile(r"https?://[^\s/?#]+", re.IGNORECASE)
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_ID_LENGTHS = (10, 16, 64)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackedEdition:
    """The edition with its HTML links rewritten, and the links to register before sending."""

    rendered: RenderedEdition
    links: tuple[TrackedLink, ...]


def click_url(base: str, edition: str, link_id: str, signature: str) -> str:
    """``<base>/c/<edition>/<link-id>/<signature>`` (``base``: the web app's public root)."""
    return f"{base.rstrip('/')}{CLICK_PATH}{quote(edition, safe='')}/{link_id}/{signature}"


def track_clicks(rendered: RenderedEdition, *, secret: bytes, base: str) -> TrackedEdition:
    """Rewrite the HTML part's links to click URLs; the text part is left exactly as it is."""
    edition = rendered.edition.id
    placeholder = f"SYNDICATE-{rendered.marker}-"
    found: dict[str, TrackedLink] = {}
    taken: dict[str, str] = {}  # link id -> url, to keep ids unique within the edition

    def rewrite_href(match: re.Match[str]) -> str:
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        url = html_lib.unescape(raw)
        if placeholder in url or not _TRACKABLE.match(url) or _UNSAFE.search(url):
            return match.group(0)
        link = found.get(url)
        if link is None:
            link = TrackedLink(
                edition=edition, link_id=_link_id(url, taken), url=url, position=len(found) + 1
            )
            found[url] = link
        signature = link_signature(secret, edition, link.link_id, url)
        return f'{match.group(1)}"{click_url(base, edition, link.link_id, signature)}"'

    def rewrite_anchor(match: re.Match[str]) -> str:
        return _HREF.sub(rewrite_href, match.group(0), count=1)

    html = _ANCHOR.sub(rewrite_anchor, rendered.html)
    return TrackedEdition(rendered=replace(rendered, html=html), links=tuple(found.values()))


def _link_id(url: str, taken: dict[str, str]) -> str:
    """A short digest of the URL, longer only if two URLs of one edition share a prefix."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    for length in _ID_LENGTHS:
        candidate = digest[:length]
        if taken.setdefault(candidate, url) == url:
            return candidate
    raise AssertionError("two URLs with one SHA-256")  # pragma: no cover
