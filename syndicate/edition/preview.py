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
    loaded = load_articles(config.content_dir, config.publication)
    warnings = list(loaded.warnings)
    conn = open_state(config)
    try:
        edition = plan_edition(
            config, conn, now=now, since=since, slugs=slugs, articles=loaded.articles
        )
        if edition is None:
            return NothingNew(warnings=tuple(warnings))
        rendered = render_edition(config, edition)
        letterhead = MessageSettings.from_config(config)
        recipient = preview_recipient(letterhead, rendered)
        message = build_message(letterhead, rendered, recipient)
        record_edition(conn, edition, status="draft")
    finally:
        conn.close()
    html = rendered.fill_html(recipient.values())
    text = rendered.fill_text(recipient.values())
    folder = out if out is not None else config.resolve(DEFAULT_OUT)
    paths = {suffix: folder / f"{edition.id}.{suffix}" for suffix in ("html", "txt", "eml")}
    write_if_changed(paths["html"], html.encode("utf-8"))
    write_if_changed(paths["txt"], text.encode("utf-8"))
    write_if_changed(paths["eml"], message_bytes(message))
    warnings += [Problem(paths["html"], None, text, True) for text in html_warnings(html)]
    return Preview(
        edition=edition,
        html_path=paths["html"],
        text_path=paths["txt"],
        eml_path=paths["eml"],
        recipient=recipient.email,
        html_bytes=len(html.encode("utf-8")),
        warnings=tuple(warnings),
    )
