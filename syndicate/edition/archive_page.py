"""One archived edition's web page: the email's HTML made neutral and valid on the web.

``<out>/newsletter/EDITION/index.html`` is the email's own HTML with the per-recipient parts
made neutral: no token, no address, no name. The footer sentence naming the recipient is
dropped, the unsubscribe link points to the subscribe page, "view in browser" to the page
itself (``page_html``, when the edition is stored). Outlook-only markup is removed when the
file is written (``web_html``). ``folder_of`` says where an edition's archive lives.
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ..delivery.settings import MessageSettings, subscribe_url

if TYPE_CHECKING:
    from ..config import Config
    from ..delivery.rendered import RenderedEdition

FOLDER = PurePosixPath("newsletter")
# Stands in for the recipient's address while the page is made; the block holding it goes.
_SENTINEL = "syndicate-archive-recipient"
_SENTINEL_URL = "https://syndicate-archive.invalid/unsubscribe"
# Outlook-only parts of MJML's output that are not valid HTML on a web page (the W3C checker
# rejects them): VML/Office namespaces, height="auto" on images, and mso-* or
# supported-color-schemes declarations in CSS.
_OFFICE_NAMESPACE = re.compile(r'\s+xmlns:(?:v|o)="[^"]*"')
_IMG_AUTO_HEIGHT = re.compile(r'(<img\b[^>]*?)\s+height="auto"', re.IGNORECASE)
_CSS_BLOCK = re.compile(r'(<style\b[^>]*>)(.*?)(</style>)|(\sstyle=")([^"]*)(")', re.DOTALL)
_CANONICAL = re.compile(r'<link rel="canonical" href="([^"]+)">')
_EMAIL_ONLY_CSS = re.compile(r"(?:mso-[a-z-]+|supported-color-schemes)\s*:[^;}]*;?\s*")


def folder_of(newsletter: str) -> PurePosixPath:
    """Where an edition's archive lives: ``newsletter/`` for the one-newsletter editions,
    ``archive/<id>/`` for each of several newsletters."""
    return PurePosixPath("archive") / newsletter if newsletter else FOLDER


def page_html(config: Config, rendered: RenderedEdition) -> str:
    """The edition's email HTML with every per-recipient part made neutral (see module doc)."""
    page_url = MessageSettings.from_config(config).archive_url(rendered.edition.id)
    filled = rendered.fill_html(
        {
            "email": _SENTINEL,
            "name": "",
            "unsubscribe_url": _SENTINEL_URL,
            "view_url": page_url,
        }
    )
    # On a public page the unsubscribe link becomes an offer to subscribe.
    filled = re.sub(
        rf'(<a\b[^>]*\bhref="){re.escape(_SENTINEL_URL)}("[^>]*>)(?:(?!</a>).)*?(</a>)',
        lambda m: (
            f"{m[1]}{html_lib.escape(subscribe_url(config), quote=True)}{m[2]}Subscribe{m[3]}"
        ),
        filled,
        flags=re.DOTALL,
    )
    filled = filled.replace(_SENTINEL_URL, html_lib.escape(subscribe_url(config), quote=True))
    # Drop the paragraph (or list item, table cell) that names the recipient; anything left
    # over becomes neutral words.
    for tag in ("p", "li", "td"):
        filled = re.sub(
            rf"<{tag}\b[^>]*>(?:(?!</?{tag}\b).)*?{_SENTINEL}(?:(?!</?{tag}\b).)*?</{tag}>",
            "",
            filled,
            flags=re.DOTALL,
        )
    filled = filled.replace(_SENTINEL, "a subscriber")
    feeds = f"{config.publication.feeds.url}/{folder_of(rendered.edition.newsletter)}"
    title = html_lib.escape(f"{config.publication.title}: newsletter archive", quote=True)
    links = (
        f'<link rel="canonical" href="{html_lib.escape(page_url, quote=True)}">'
        f'<link rel="alternate" type="application/rss+xml" title="{title}" '
        f'href="{html_lib.escape(feeds, quote=True)}/rss.xml">'
        f'<link rel="alternate" type="application/atom+xml" title="{title}" '
        f'href="{html_lib.escape(feeds, quote=True)}/atom.xml">'
    )
    head_end = filled.find("</head>")
    if head_end >= 0:
        filled = filled[:head_end] + links + filled[head_end:]
    return filled


def web_html(page: str) -> str:
    """The stored email HTML as a valid web page: Outlook-only markup removed.

    Done when the file is written, not when the page is stored, so pages stored before
    this cleaning existed come out the same.
    """
    page = _OFFICE_NAMESPACE.sub("", page, count=2)
    canonical = _CANONICAL.search(page)
    if canonical is not None:  # "View in your browser" on the page itself leads nowhere
        own = re.escape(canonical[1])
        link = rf'<a\b[^>]*\bhref="{own}"[^>]*>(?:(?!</a>).)*?</a>'
        page = re.sub(rf"\s*·\s*{link}|{link}\s*·\s*|{link}", "", page, flags=re.DOTALL)
    page = _IMG_AUTO_HEIGHT.sub(r"\1", page)

    def clean(match: re.Match[str]) -> str:
        if match[1] is not None:
            return match[1] + _EMAIL_ONLY_CSS.sub("", match[2]) + match[3]
        return match[4] + _EMAIL_ONLY_CSS.sub("", match[5]) + match[6]

    return _CSS_BLOCK.sub(clean, page)
