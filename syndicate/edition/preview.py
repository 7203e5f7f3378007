"""``syndicate email`` without sending: render the next edition to files an editor can open.

The .eml is the very message a subscriber would get (built by ``delivery.message``), addressed
to the stand-in ``subscriber@example.invalid`` with the unsubscribe token ``preview``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..config import Config
from ..content.articles import load_articles
from ..delivery.message import build_message, message_bytes, preview_recipient
from ..delivery.settings import MessageSettings
from ..errors import Problem
from ..files import write_if_changed
from ..model import Edition
from .render import html_warnings, render_edition
from .state import open_state, plan_edition, record_edition

DEFAULT_OUT = "newsletter"


@dataclass(frozen=True, slots=True, kw_only=True)
class Preview:
    """What a preview wrote, for the CLI's report."""

    edition: Edition
    html_path: Path
    text_path: Path
    eml_path: Path
    recipient: str
    html_bytes: int
    warnings: tuple[Problem, ...]

    @property
    def subject(self) -> str:
        """The edition's subject line."""
        return self.edition.subject


@dataclass(frozen=True, slots=True, kw_only=True)
class NothingNew:
    """No article is due: every published one was already sent (or none matched)."""

    warnings: tuple[Problem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EditionPreview:
    """The next edition rendered for the stand-in subscriber, in memory: the very bytes
    ``syndicate email`` writes to EDITION.html/.txt/.eml (the library API returns this)."""

    edition: Edition
    html: bytes
    text: bytes
    eml: bytes
    recipient: str
    warnings: tuple[Problem, ...]

    @property
    def id(self) -> str:
        """The edition id, which names the preview files (``2026-11-25``)."""
        return self.edition.id

    @property
    def subject(self) -> str:
        """The edition's subject line."""
        return self.edition.subject


def render_preview(
    config: Config,
    *,
    now: datetime,
    since: datetime | None = None,
    slugs: Sequence[str] = (),
) -> EditionPreview | NothingNew:
    """Plan the next edition, save it as a draft, and render it for the stand-in subscriber."""
    loaded = load_articles(config.content_dir, config.publication)
    conn = open_state(config)
    try:
        edition = plan_edition(
            config, conn, now=now, since=since, slugs=slugs, articles=loaded.articles
        )
        if edition is None:
            return NothingNew(warnings=tuple(loaded.warnings))
        rendered = render_edition(config, edition)
        letterhead = MessageSettings.from_config(config)
        recipient = preview_recipient(letterhead, rendered)
        message = build_message(letterhead, rendered, recipient)
        record_edition(conn, edition, status="draft")
    finally:
        conn.close()
    return EditionPreview(
        edition=edition,
        html=rendered.fill_html(recipient.values()).encode("utf-8"),
        text=rendered.fill_text(recipient.values()).encode("utf-8"),
        eml=message_bytes(message),
        recipient=recipient.email,
        warnings=tuple(loaded.warnings),
    )


def write_preview(preview: EditionPreview, folder: Path) -> Preview:
    """Write a rendered preview as EDITION.html/.txt/.eml to ``folder``; files whose bytes did
    not change are left alone, so previewing twice touches nothing."""
    paths = {suffix: folder / f"{preview.id}.{suffix}" for suffix in ("html", "txt", "eml")}
    write_if_changed(paths["html"], preview.html)
    write_if_changed(paths["txt"], preview.text)
    write_if_changed(paths["eml"], preview.eml)
    html = preview.html.decode("utf-8")
    warnings = [Problem(paths["html"], None, text, True) for text in html_warnings(html)]
    return Preview(
        edition=preview.edition,
        html_path=paths["html"],
        text_path=paths["txt"],
        eml_path=paths["eml"],
        recipient=preview.recipient,
        html_bytes=len(preview.html),
        warnings=(*preview.warnings, *warnings),
    )


def preview_edition(
    config: Config,
    *,
    now: datetime,
    since: datetime | None = None,
    slugs: Sequence[str] = (),
    out: Path | None = None,
) -> Preview | NothingNew:
    """Plan the next edition, save it as a draft, and write EDITION.html/.txt/.eml to ``out``.

    ``out`` defaults to ``newsletter/`` in the publication folder. Files whose bytes did not
    change are left alone, so previewing twice touches nothing.
    """
    preview = render_preview(config, now=now, since=since, slugs=slugs)
    if isinstance(preview, NothingNew):
        return preview
    return write_preview(preview, out if out is not None else config.resolve(DEFAULT_OUT))
