"""``syndicate validate --email``: check the next edition's email the way mail clients will.

Renders the next edition (or, when nothing is new, the latest articles) exactly as it would be
sent to a stand-in subscriber and reports what costs deliverability or accessibility: images
without alt text, HTML over Gmail's 102 KB clipping limit, links that are not absolute https,
no postal address (CAN-SPAM, and most providers' terms), no unsubscribe link in the body.
Each problem names the article it comes from when it can, so an editor knows what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..config import Config
from ..content.articles import load_articles, render_article, select_published
from ..delivery.dkim import DkimError, signer_for
from ..delivery.message import preview_recipient
from ..delivery.settings import DkimSettings, MessageSettings, app_url
from ..delivery.tracking import track_clicks
from ..errors import Problem, ProblemsError, UsageError
from ..model import Article, Edition
from .render import render_edition, render_subject
from .state import next_edition_id, open_state, plan_edition

if TYPE_CHECKING:
    from ..delivery.rendered import RenderedEdition

GMAIL_CLIP_BYTES = 102 * 1024
# Schemes a reader's client can follow from an email; everything else must be https.
SAFE_SCHEMES = ("https", "mailto", "tel")


class EmailLintError(ProblemsError):
    """The email fails one or more checks; the message lists every problem."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LintResult:
    """The problems found (errors and warnings) and what was checked."""

    edition_id: str
    html_bytes: int
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that fail validation (exit 1)."""
        return tuple(p for p in self.problems if not p.warning)


def lint_email(config: Config, *, now: datetime) -> LintResult:
    """Render the next edition for a stand-in subscriber and check its HTML and text."""
    edition = _edition_to_check(config, now)
    rendered = render_edition(config, edition)
    recipient = preview_recipient(MessageSettings.from_config(config), rendered)
    html = rendered.fill_html(recipient.values())
    text = rendered.fill_text(recipient.values())
    where = f"email {edition.id}"
    problems = check_html(
        html,
        where=where,
        unsubscribe_url=recipient.unsubscribe_url,
        postal_address=config.publication.postal_address,
        articles=edition.articles,
    )
    if recipient.unsubscribe_url not in text:
        problems.append(Problem(f"{where} (text)", None, "no unsubscribe link in the plain text"))
    size = len(html.encode("utf-8"))
    if config.model.tracking.clicks:
        size = _tracked_size(config, rendered, recipient.values(), where, size, problems)
    problems += _dkim_problems(config)
    if not config.publication.postal_address.strip():
        problems.append(
            Problem(
                config.path,
                None,
                "[publication] postal_address is empty: bulk email must show a postal address",
            )
        )
    return LintResult(edition_id=edition.id, html_bytes=size, problems=tuple(problems))


def _tracked_size(
    config: Config,
    rendered: RenderedEdition,
    values: Mapping[str, str],
    where: str,
    size: int,
    problems: list[Problem],
) -> int:
    """The HTML's size as sent with ``[tracking] clicks`` (click links are longer than most
    links), and a problem when only they push it over Gmail's clipping limit."""
    # The signature's length, not its value, matters here: no secret is needed.
    tracked = track_clicks(rendered, secret=b"lint: size only", base=app_url(config))
    sent = len(tracked.rendered.fill_html(values).encode("utf-8"))
    if sent > GMAIL_CLIP_BYTES >= size:
        problems.append(
            Problem(
                where,
                None,
                f"with [tracking] clicks the HTML is {sent / 1024:.0f} KB (click links add "
                f"{(sent - size) / 1024:.0f} KB), over Gmail's 102 KB limit: Gmail clips the "
                "rest; lower [email] max_articles or set [tracking] clicks = false",
            )
        )
    return sent


def check_html(
    html: str,
    *,
    where: str,
    unsubscribe_url: str,
    postal_address: str = "",
    articles: Sequence[Article] = (),
) -> list[Problem]:
    """Every lint problem in one recipient's HTML, in document order."""
    # lazy: lxml loads only when an edition's email is linted
    from lxml import html as lxml_html

    problems: list[Problem] = []
    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        problems.append(
            Problem(
                where,
                None,
                f"HTML is {size / 1024:.0f} KB, over Gmail's 102 KB limit: Gmail clips the rest "
                "(footer and unsubscribe link included); lower [email] max_articles or set "
                "[email] full_content = false",
            )
        )
    document = lxml_html.document_fromstring(html)
    for img in document.iter("img"):
        src = (img.get("src") or "").strip()
        if _is_spacer(img):
            continue
        alt = img.get("alt")
        if alt is None or not alt.strip():
            what = "no alt attribute" if alt is None else "empty alt text"
            problems.append(
                Problem(_origin(src, articles, where), None, f"image {src!r} has {what}")
            )
        if not _https(src):
            problems.append(
                Problem(
                    _origin(src, articles, where),
                    None,
                    f"image source {src!r} is not an absolute https URL",
                )
            )
    seen: set[str] = set()
    for anchor in document.iter("a"):
        href = (anchor.get("href") or "").strip()
        if href in seen:
            continue
        seen.add(href)
        if not href:
            problems.append(Problem(where, None, "a link with no href"))
        elif urlsplit(href).scheme.lower() not in SAFE_SCHEMES or not _absolute(href):
            problems.append(
                Problem(
                    _origin(href, articles, where),
                    None,
                    f"link {href!r} is not an absolute https URL",
                )
            )
    hrefs = {(a.get("href") or "").strip() for a in document.iter("a")}
    if not unsubscribe_url or unsubscribe_url not in hrefs:
        problems.append(Problem(where, None, "no unsubscribe link in the HTML body"))
    if postal_address.strip():
        body_text = " ".join(document.text_content().split())
        if " ".join(postal_address.split()) not in body_text:
            problems.append(
                Problem(where, None, "the postal address is not shown in the HTML body")
            )
    return problems


def _dkim_problems(config: Config) -> list[Problem]:
    """A configured DKIM key that cannot be used fails every send: say so before sending."""
    try:
        signer_for(DkimSettings.from_config(config))
    except DkimError as exc:
        return [Problem(config.path, None, f"[email.dkim]: {exc}")]
    return []


def _https(url: str) -> bool:
    return urlsplit(url).scheme.lower() == "https" and _absolute(url)


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme.lower() in ("mailto", "tel"):
        return bool(parts.path)
    return bool(parts.scheme and parts.netloc)


def _is_spacer(img: Any) -> bool:
    """A 1x1 spacer or tracking pixel marked presentational needs no alt text."""
    if img.get("role") == "presentation":
        return True
    return img.get("width") in ("0", "1") and img.get("height") in ("0", "1")


def _origin(value: str, articles: Sequence[Article], fallback: str) -> str | Path:
    """The source file of the article whose body or lead image holds ``value``."""
    if value:
        for article in articles:
            image = article.image.url if article.image else ""
            if value == image or value in article.html:
                return article.source if article.source is not None else article.slug
    return fallback


def _edition_to_check(config: Config, now: datetime) -> Edition:
    """The next edition; when nothing is new, the latest articles as an edition would be."""
    articles = load_articles(config.content_dir, config.publication).articles
    conn = open_state(config)
    try:
        edition = plan_edition(config, conn, now=now, articles=articles)
        if edition is not None:
            return edition
        latest = select_published(articles, now)[: config.model.email.max_articles]
        if not latest:
            raise UsageError("no published article to render an email from")
        rendered = tuple(render_article(article, config.publication) for article in latest)
        edition_id = next_edition_id(conn, now.astimezone(config.publication.timezone).date())
    finally:
        conn.close()
    subject = render_subject(config, edition_id=edition_id, created=now, articles=rendered)
    return Edition(id=edition_id, created=now, articles=rendered, subject=subject)
