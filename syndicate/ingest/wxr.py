"""A WordPress export (WXR, "Tools -> Export") -> one ImportedDocument per post.

Kept: title, the GMT publication date (``wp:post_date_gmt``), the author's display name (the
``dc:creator`` login looked up in the ``wp:author`` list), categories and tags (as tags; the
default "Uncategorized" is left out), the slug (``wp:post_name``), the excerpt as summary,
the featured image (``_thumbnail_id`` -> the attachment's URL and alt text), drafts as drafts
and scheduled posts as embargoed ones. ``id`` is the item's ``guid``, which is what
WordPress's own feeds write as ``<guid>``, and ``url`` its permalink (``link``), so feed
readers see no new items and links do not move. The body is the post's HTML made into
paragraphs the way WordPress shows it (blank lines separate paragraphs in the classic editor),
``[caption]`` and ``[embed]`` shortcodes rewritten, and then converted like any imported page:
the article sanitiser, then ``htmlmd``. Other shortcodes are removed and reported.

Pages, attachments, menu items and other post types are not articles: they are counted in one
remark. The XML is parsed with entity resolution, DTD loading and network access off, so an
export cannot read local files or expand into gigabytes.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree
from lxml import html as lxml_html

from ..content.render import sanitize
from ..errors import Problem
from ..model import Author, Image
from .document import ImportedDocument, SourceError
from .htmlmd import fragment_to_markdown
from .migrated import Expanded, Migrated

MAX_WXR_BYTES = 500_000_000  # a newsroom's whole archive; each text node is capped by lxml too
_WP = "http://wordpress.org/export/"
_DC = "http://purl.org/dc/elements/1.1/"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_NO_DATE = "0000-00-00 00:00:00"
_DRAFT_STATUSES = {"draft", "pending", "private"}
_BLOCK_START = re.compile(
    r"^\s*<(?:!--|(?:p|div|h[1-6]|ul|ol|li|blockquote|pre|table|figure|hr|dl|section|"
    r"article|aside|header|footer|details|iframe|img|video|audio|form)\b)",
    re.IGNORECASE,
)
_KNOWN_SHORTCODES = (
    "caption", "wp_caption", "embed", "gallery", "audio", "video", "playlist", "youtube",
    "vimeo", "tweet", "contact-form", "contact-form-7", "instagram", "soundcloud", "code",
    "sourcecode", "googlemaps", "polldaddy", "wpvideo",
)  # fmt: skip
_SHORTCODE = re.compile(r"\[(/?)([A-Za-z][\w-]*)((?:\s+[^\]]*)?)\]")


def is_wxr(head: bytes) -> bool:
    """True for the start of a WordPress export file."""
    return b"wordpress.org/export/" in head[:8192]


def import_wxr(path: Path, zone: tzinfo) -> Expanded:
    """Every post in the export as a Migrated; a broken item is a problem naming its id."""
    channel = _channel(path)
    authors = _authors(channel)
    items = [child for child in channel if _local(child) == "item"]
    attachments = {
        _wp(item, "post_id"): item for item in items if _wp(item, "post_type") == "attachment"
    }
    skipped: Counter[str] = Counter()
    migrated: list[Migrated] = []
    problems: list[Problem] = []
    mtime = path.stat().st_mtime
    for item in items:
        kind, status = _wp(item, "post_type"), _wp(item, "status")
        if kind != "post" or status in ("trash", "auto-draft", "inherit"):
            skipped[f"{status} post" if kind == "post" else kind or "untyped"] += 1
            continue
        label = path.with_name(f"{path.name}#{_wp(item, 'post_id') or len(migrated) + 1}")
        try:
            doc = _document(item, authors, attachments, zone)
        except SourceError as exc:
            problems.append(Problem(label, None, str(exc)))
            continue
        migrated.append(Migrated(source=label, doc=doc, fmt="wordpress", mtime=mtime))
    remarks = []
    if skipped:
        counts = ", ".join(f"{count} {kind}" for kind, count in sorted(skipped.items()))
        remarks.append(f"{path}: not imported (only posts are articles): {counts}")
    return Expanded(tuple(migrated), tuple(problems), tuple(remarks))


def _channel(path: Path) -> Any:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    if size > MAX_WXR_BYTES:
        raise SourceError(f"file is {size:,} bytes, over the limit of {MAX_WXR_BYTES:,}")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False
    )
    try:
        root = etree.parse(str(path), parser).getroot()
    except (etree.XMLSyntaxError, OSError) as exc:
        raise SourceError(f"not a readable WordPress export: {exc}") from None
    channel = next((child for child in root if _local(child) == "channel"), None)
    if channel is None:
        raise SourceError("not a WordPress export: no <channel>")
    return channel


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: Any, namespace: str, name: str) -> list[Any]:
    return [
        child
        for child in element
        if isinstance(child.tag, str)
        and etree.QName(child).localname == name
        and (etree.QName(child).namespace or "").startswith(namespace)
    ]


def _text(element: Any, namespace: str, name: str) -> str:
    found = _children(element, namespace, name)
    if not found:
        return ""
    # Entity references stay unexpanded nodes (resolve_entities=False): keep the text around.
    return ((found[0].text or "") + "".join(child.tail or "" for child in found[0])).strip()


def _wp(element: Any, name: str) -> str:
    return _text(element, _WP, name)


def _authors(channel: Any) -> dict[str, str]:
    """Login -> display name, from the export's ``wp:author`` list."""
    names: dict[str, str] = {}
    for author in _children(channel, _WP, "author"):
        login = _wp(author, "author_login")
        shown = _wp(author, "author_display_name")
        if not shown:
            shown = " ".join(
                part
                for part in (_wp(author, "author_first_name"), _wp(author, "author_last_name"))
                if part
            )
        if login:
            names[login] = html.unescape(shown or login)
    return names


def _document(
    item: Any, authors: dict[str, str], attachments: dict[str, Any], zone: tzinfo
) -> ImportedDocument:
    title = html.unescape(_text(item, "", "title") or "")
    title = " ".join(title.split())
    if not title:
        raise SourceError("no title")
    notes: list[str] = []
    status = _wp(item, "status")
    date = _moment(_wp(item, "post_date_gmt"), UTC) or _moment(_wp(item, "post_date"), zone)
    if date is None:
        notes.append("no date in the export: the export file's mtime is used")
    updated = _moment(_wp(item, "post_modified_gmt"), UTC)
    link = _text(item, "", "link")
    guid = _text(item, "", "guid")
    draft = status in _DRAFT_STATUSES
    if status == "private":
        notes.append("a private post: imported as a draft")
    if _wp(item, "post_password"):
        draft = True
        notes.append("password-protected post: imported as a draft (syndicate has no passwords)")
    raw = _text(item, _CONTENT, "encoded")
    body_html, shortcode_notes = _shortcodes(raw)
    notes.extend(shortcode_notes)
    fragment = sanitize(_autop(body_html), link or "https://example.invalid/")
    converted = fragment_to_markdown(fragment, title=title, resolvable=bool(link))
    if not converted.markdown.strip():
        raise SourceError("no article text")
    comments = len(_children(item, _WP, "comment"))
    if comments:
        notes.append(f"{comments} comment(s) not carried over")
    creator = _text(item, _DC, "creator")
    tags, section_notes = _terms(item)
    notes.extend(section_notes)
    return ImportedDocument(
        title=title,
        body=converted.markdown,
        date=date,
        updated=updated if updated and date and updated > date else None,
        publish_at=date if status == "future" else None,
        slug=unquote(_wp(item, "post_name")),
        id=guid,
        url="" if draft else link,
        summary=_plain(_text(item, "http://wordpress.org/export/", "encoded")),
        authors=(Author(name=authors.get(creator, creator)),) if creator else (),
        tags=tags,
        image=_featured(item, attachments),
        draft=draft,
        dropped=converted.dropped,
        notes=(*notes, *converted.notes),
    )


def _moment(text: str, zone: tzinfo) -> datetime | None:
    if not text or text == _NO_DATE:
        return None
    try:
        return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=zone)
    except ValueError:
        return None


def _terms(item: Any) -> tuple[tuple[str, ...], list[str]]:
    """Categories and tags, in order, as our tags; "Uncategorized" is WordPress's default."""
    tags: list[str] = []
    notes: list[str] = []
    for element in item:
        if _local(element) != "category" or element.get("domain") not in ("category", "post_tag"):
            if _local(element) == "category" and element.get("domain"):
                notes.append(f"term {element.get('domain')}={element.text!r} not carried over")
            continue
        name = html.unescape((element.text or "").strip())
        if element.get("domain") == "category" and element.get("nicename") == "uncategorized":
            continue
        if name:
            tags.append(name)
    return tuple(dict.fromkeys(tags)), notes


def _featured(item: Any, attachments: dict[str, Any]) -> Image | None:
    meta = _postmeta(item)
    attachment = attachments.get(meta.get("_thumbnail_id", ""))
    if attachment is None:
        return None
    url = _wp(attachment, "attachment_url")
    if not url.startswith(("http://", "https://")):
        return None
    return Image(url=url, alt=_postmeta(attachment).get("_wp_attachment_image_alt", ""))


def _postmeta(item: Any) -> dict[str, str]:
    return {
        _wp(meta, "meta_key"): _wp(meta, "meta_value") for meta in _children(item, _WP, "postmeta")
    }


def _plain(fragment: str) -> str:
    """An excerpt's HTML as one line of text."""
    if not fragment.strip():
        return ""
    text = lxml_html.fragment_fromstring(fragment, create_parent="div").text_content()
    return " ".join(str(text).split())


def _autop(content: str) -> str:
    """WordPress's wpautop, simplified: blank-line separated chunks that are not already
    blocks become paragraphs, and single line breaks inside them ``<br>``."""
    chunks = re.split(r"\n\s*\n", content.replace("\r\n", "\n").strip())
    out = []
    for chunk in chunks:
        if not chunk.strip():
            continue
        if _BLOCK_START.match(chunk):
            out.append(chunk)
        else:
            out.append("<p>" + chunk.strip().replace("\n", "<br>\n") + "</p>")
    return "\n".join(out)


@dataclass(frozen=True, slots=True)
class _Shortcode:
    name: str
    attrs: str
    inner: str


def _shortcodes(content: str) -> tuple[str, list[str]]:
    """``[caption]`` -> a figure, ``[embed]URL[/embed]`` -> a link; others removed, reported."""
    notes: list[str] = []
    names = {name.lower() for name in re.findall(r"\[/([A-Za-z][\w-]*)\]", content)}

    def paired(match: re.Match[str]) -> str:
        code = _Shortcode(match.group(1).lower(), match.group(2), match.group(3))
        if code.name in ("caption", "wp_caption"):
            image = re.search(r"<a\b[^>]*>\s*<img\b[^>]*>\s*</a>|<img\b[^>]*>", code.inner)
            if image:
                caption = (code.inner[: image.start()] + code.inner[image.end() :]).strip()
                caption = caption or _attr(code.attrs, "caption")
                return f"<figure>{image.group(0)}<figcaption>{caption}</figcaption></figure>"
        if code.name == "embed" and code.inner.strip().startswith(("http://", "https://")):
            return f"<p>{html.escape(code.inner.strip())}</p>"
        notes.append(f"shortcode [{code.name}] removed: syndicate has no equivalent (text kept)")
        return code.inner

    content = re.sub(
        r"\[([A-Za-z][\w-]*)((?:\s+[^\]]*)?)\](.*?)\[/\1\]", paired, content, flags=re.DOTALL
    )

    def single(match: re.Match[str]) -> str:
        name = match.group(2).lower()
        if name not in _KNOWN_SHORTCODES and name not in names and "=" not in match.group(3):
            return match.group(0)  # "[sic]", "[1]": text in brackets, not a shortcode
        notes.append(f"shortcode [{name}] removed: syndicate has no equivalent")
        return ""

    content = _SHORTCODE.sub(single, content)
    # A URL alone on a line is a WordPress auto-embed (a video, a post): keep it as a link.
    content = re.sub(
        r"(?m)^[ \t]*(https?://\S+)[ \t]*$",
        lambda m: f"<p>{html.escape(m.group(1))}</p>",
        content,
    )
    return content, notes


def _attr(attrs: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', attrs)
    return found.group(1) if found else ""
