"""Correction notices: a short email to the readers who got an article that was corrected since.

A notice is an edition of its own kind: one article, one correction, its own templates
(``correction.mjml.j2`` and ``correction.txt.j2``), its own ledger key. It is rendered once,
like an edition, with per-recipient placeholders, so the delivery engine sends it unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import Config, configured_newsletters
from ..content.corrections import date_text, label, note_text
from ..delivery.message import build_message, message_bytes, preview_recipient
from ..delivery.rendered import PLACEHOLDER_FIELDS, RenderedEdition, placeholder
from ..delivery.settings import MessageSettings
from ..errors import TemplateError
from ..files import write_if_changed
from ..model import Article, Correction, Edition
from ..text.tidy import tidy_text
from .emailhtml import CONTENT_WIDTH, EMAIL_WIDTH
from .render import TEXT_WIDTH, environment, render_named

HTML_TEMPLATE = "correction.mjml.j2"
TEXT_TEMPLATE = "correction.txt.j2"


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """One correction of one article, and the send that tells its readers.

    ``key`` is the notice's ledger key for life (``correction-<slug>-<moment>``, the slug as it
    was when the notice was first recorded); ``carried_in`` the editions, planned before the
    correction, that carried the article.
    """

    key: str
    article: Article
    correction: Correction
    carried_in: tuple[tuple[str, datetime], ...] = ()
    # The newsletter of the first carrying edition ("" outside [newsletters]): the stand-in
    # reader of previews and test copies gets its preferences link; at send time each reader
    # gets their own (``notice_send.readers``).
    newsletter: str = ""

    @property
    def subject(self) -> str:
        """``Correction: <the article's title>``."""
        return f"{label(self.correction)}: {self.article.title}"


def notice_key(article: Article, correction: Correction) -> str:
    """A new notice's ledger key: readable, and unique to (article, correction)."""
    digest = hashlib.sha256(article.id.encode("utf-8")).hexdigest()[:6]
    return f"correction-{article.slug}-{correction.key}-{digest}"


def render_notice(config: Config, notice: Notice) -> RenderedEdition:
    """The notice's HTML (Jinja2 -> MJML -> HTML) and text twin, each rendered once."""
    # lazy: mjml is a compiled extension, loaded only when a notice is made
    from mjml import mjml2html

    edition = Edition(
        id=notice.key,
        created=notice.correction.date,
        articles=(notice.article,),
        subject=notice.subject,
        newsletter=notice.newsletter,
    )
    marker = hashlib.sha256(repr((edition, notice.correction)).encode("utf-8")).hexdigest()[:24]
    context = _context(config, notice, marker)
    html_env = environment(config, autoescape=True)
    source = render_named(html_env, HTML_TEMPLATE, context, notice.key)
    try:
        html = mjml2html(source, disable_comments=True, fonts={})
    except ValueError as exc:
        raise TemplateError(
            f"{HTML_TEMPLATE}: invalid MJML: {exc} (correction notice {notice.key})"
        ) from None
    text_env = environment(config, autoescape=False)
    text = tidy_text(render_named(text_env, TEXT_TEMPLATE, context, notice.key))
    return RenderedEdition(
        edition=edition, subject=notice.subject, html=html, text=text, marker=marker
    )


def _context(config: Config, notice: Notice, marker: str) -> dict[str, Any]:
    pub = config.publication
    zone = pub.timezone
    correction = notice.correction
    return {
        "publication": pub,
        "article": notice.article,
        "subject": notice.subject,
        "correction": {
            "label": label(correction),
            "kind": correction.kind,
            "date_text": date_text(correction.date, zone),
            "text": correction.text,
            "line": note_text(correction, zone),
        },
        "earlier": [
            {"label": label(c), "date_text": date_text(c.date, zone), "text": c.text}
            for c in notice.article.corrections
            if c.date < correction.date
        ],
        "editions": [
            {"id": edition_id, "date_text": date_text(created, zone)}
            for edition_id, created in notice.carried_in
        ],
        "preheader": f"{label(correction)}: {correction.text}"[:140],
        "recipient": {field: placeholder(marker, field) for field in PLACEHOLDER_FIELDS},
        # With [newsletters], recipient.unsubscribe_url is the reader's preferences page.
        "newsletters": configured_newsletters(config),
        "email_width": EMAIL_WIDTH,
        "content_width": CONTENT_WIDTH,
        "text_width": TEXT_WIDTH,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticePreview:
    """The files a notice preview wrote, for the CLI's report."""

    notice: Notice
    html_path: Path
    text_path: Path
    eml_path: Path
    recipient: str


def write_notice_preview(config: Config, notice: Notice, folder: Path) -> NoticePreview:
    """KEY.html, KEY.txt and KEY.eml for the stand-in subscriber; unchanged files untouched."""
    rendered = render_notice(config, notice)
    letterhead = MessageSettings.from_config(config)
    recipient = preview_recipient(letterhead, rendered)
    paths = {suffix: folder / f"{notice.key}.{suffix}" for suffix in ("html", "txt", "eml")}
    write_if_changed(paths["html"], rendered.fill_html(recipient.values()).encode("utf-8"))
    write_if_changed(paths["txt"], rendered.fill_text(recipient.values()).encode("utf-8"))
    message = build_message(letterhead, rendered, recipient)
    write_if_changed(paths["eml"], message_bytes(message))
    return NoticePreview(
        notice=notice,
        html_path=paths["html"],
        text_path=paths["txt"],
        eml_path=paths["eml"],
        recipient=recipient.email,
    )
