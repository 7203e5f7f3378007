"""A hostile publication: every kind of text that has broken someone's feed, in one place.

``write(root)`` writes ``config.toml`` and ``content/`` for a publication whose articles carry
odd Unicode, right-to-left text, emoji, control characters, ``]]>``, ``<script>``, HTML
entities, a very long title, tags with spaces, slashes and non-Latin letters, an enclosure,
authors with and without e-mail, no summary, another language, plus a draft and a future-dated
article that must appear nowhere. The feed-validator and feed-rule tests build it, after
``send`` has mailed one edition (to the file outbox), so that the build writes the newsletter
archive's RSS and Atom feeds too.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from syndicate.config import load_config
from syndicate.delivery.subscribers import add_subscriber
from syndicate.edition.render import render_edition
from syndicate.edition.sending import send_edition
from syndicate.edition.state import open_state, plan_edition
from syndicate.store.database import connect
from tests.conftest import BASE_CONFIG, article

NOW = "2026-11-20T12:00:00+00:00"  # the build's --now: the future-dated article is after it
LONG_TITLE = "Ein sehr langer Titel " * 20 + "— fin"  # 445 characters, under the limit of 500

ARTICLES = {
    "2026-11-01-unicode.md": article(
        "Zoë’s “quotes” & <tags> — naïve café ]]> \u200b\u00ad \U0001f680\U0001f1e9\U0001f1ea",  # noqa: RUF001 (on purpose)
        date="2026-11-01T08:00:00+01:00",
        summary="A summary with <b>markup</b>, &amp; an entity, ]]> and \x01control\x0b chars.",
        tags=["Rail & Road", "a/b", "München", "日本語", "with space", "\U0001f525 hot"],
        section="Über/Cities",
        authors=[
            {"name": "Zoë Müller", "email": "zoe@news.test", "url": "https://news.test/zoe"},
            {"name": "Name Only"},
            {"name": "O'Brien <ob>", "email": "ob.rien+feeds@news.test"},
        ],
        body=(
            "Text with &amp; &lt;entities&gt; &nbsp; &copy; &#x1F600; and ]]> and a "
            '[relative link](/x/) and ![an image](img/a.png "t").\n\n'
            "<script>alert('x')</script><b onclick=\"x()\">bold</b> "
            '<a href="javascript:alert(1)">js</a>\n\n'
            "Control \x01\x02\x08\x0b\x0c\x1f\x7f characters, a NUL-free line, \ufffe\uffff.\n\n"
            "| left | right |\n|:---|---:|\n| a | 1 |\n\n~~struck~~ text.\n"
        ),
    ),
    "2026-11-02-rtl.md": article(
        "مرحبا بالعالم — שלום עולם \u202eevil\u202c",
        date="2026-11-02T09:30:00+01:00",
        lang="ar",
        tags=["عربي", "Rail & Road"],
        section="Über/Cities",
        authors=["فاطمة"],
        body="هذا نص عربي مع **تأكيد** و[رابط](https://news.test/ar/).\n\nעברית גם כן.\n",  # noqa: RUF001 (on purpose)
    ),
    "2026-11-03-podcast.md": article(
        LONG_TITLE,
        date="2026-11-03T10:00:00+01:00",
        updated="2026-11-04T10:00:00+01:00",
        tags=["Podcast"],
        enclosure={"url": "https://news.test/ep1.mp3", "type": "audio/mpeg", "length": 4242},
        image={"url": "lead.jpg", "alt": "A microphone & <mixer>", "width": 800, "height": 600},
        body="Listen. <!-- a comment --> <![CDATA[ fake ]]> <?php echo 1; ?>\n",
    ),
    "2026-11-04-plain.md": article(
        "Plain & simple",
        date="2026-11-04",
        body="",
    ),
    "2026-11-05-draft.md": article(
        "A draft that must not appear", date="2026-11-05", draft=True, tags=["Secret"]
    ),
    "2026-12-24-future.md": article(
        "A future article that must not appear", date="2026-12-24T09:00:00+01:00", tags=["Soon"]
    ),
}


def write(root: Path, *, feeds: str = "") -> Path:
    """Write the hostile publication into root (created) and return root."""
    (root / "content").mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(
        BASE_CONFIG.format(feeds=feeds, email="", extra=""), encoding="utf-8"
    )
    for name, text in ARTICLES.items():
        (root / "content" / name).write_text(text, encoding="utf-8")
    return root


def send(root: Path) -> None:
    """Send the publication's next edition (at ``NOW``) to one reader through the file outbox.

    The token secret is set for the send only: other tests expect the environment untouched.
    """
    saved = os.environ.get("SYNDICATE_SECRET")
    os.environ["SYNDICATE_SECRET"] = "hostile-test-secret-0123456789"
    try:
        config = load_config(root / "config.toml")
        conn = connect(config.state_target)
        add_subscriber(conn, "reader.person@example.com", name="Reader ]]> <b>")
        conn.close()
        conn = open_state(config)
        try:
            edition = plan_edition(config, conn, now=datetime.fromisoformat(NOW))
            assert edition is not None
            report = send_edition(config, conn, edition, render_edition(config, edition))
            assert report.complete and report.sent == 1
        finally:
            conn.close()
    finally:
        if saved is None:
            del os.environ["SYNDICATE_SECRET"]
        else:
            os.environ["SYNDICATE_SECRET"] = saved
