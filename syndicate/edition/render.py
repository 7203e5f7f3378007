"""An edition -> its subject, responsive HTML (Jinja2 + MJML) and plain-text twin.

MJML runs once per edition. Per-recipient values (address, unsubscribe and view-in-browser
links) are left as placeholders that ``RenderedEdition.fill_html``/``fill_text`` replace by
plain string substitution at send time. A placeholder is ``SYNDICATE-<marker>-FIELD`` where the
marker is a digest of the whole edition: an article cannot contain the marker of the edition
it is in, so article text can never be mistaken for (or spoof) a placeholder.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ..config import Config, Newsletter, configured_newsletters, key_line
from ..content.corrections import heading
from ..content.render import shorten
from ..content.when import long_date
from ..delivery.rendered import PLACEHOLDER_FIELDS, ReaderTemplates, RenderedEdition, placeholder
from ..errors import TemplateError
from ..model import Article, Edition, Image
from ..text.plaintext import format_links, render_markdown_text
from ..text.templates import (
    attributes_read,
    plain_reads,
    render_string,
    render_template,
    template_environment,
    template_source,
)
from ..text.tidy import tidy_text
from ..text.width import wrap
from .emailhtml import CONTENT_WIDTH, EMAIL_WIDTH, email_fragment, hero_size

if TYPE_CHECKING:
    import jinja2

HTML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"
CSS_TEMPLATE = "email.css"
TEXT_WIDTH = 72
PREHEADER_LENGTH = 140
GMAIL_CLIP_BYTES = 102 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailNote:
    """A correction note as the email templates show it: ``heading: text``."""

    heading: str  # "Correction, 6 December 2026"
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailArticle:
    """One article as the email templates see it: display-ready fields, nothing to compute."""

    article: Article
    title: str
    url: str
    dek: str
    summary: str
    byline: str
    date: datetime
    date_text: str
    section: str
    image: Image | None
    image_width: int
    image_height: int | None
    body: Markup
    text: str
    links: str
    notes: tuple[EmailNote, ...] = ()  # corrections made before this edition, oldest first
    notes_top: bool = False  # [corrections] position = "top"


class Segment(dict[str, str]):
    """The attributes a segment's readers share; a template asking for one the segment does
    not set (``segment.city`` in a whole-list edition) gets "" rather than an error."""

    def __missing__(self, key: str) -> str:
        return ""


class Reader(Segment):
    """One recipient's own attributes (``{{ reader.city }}``); a missing one reads "" (so
    ``{{ reader.city or "friend" }}`` gives a fallback) rather than failing the send."""


def render_edition(
    config: Config, edition: Edition, *, segment: Mapping[str, str] | None = None
) -> RenderedEdition:
    """Render an edition's HTML (Jinja2 -> MJML -> HTML) and text, each exactly once.

    ``segment``: the attributes every recipient shares (``--where city=Berlin``), given to the
    templates as ``segment`` (``{{ segment.city }}``); empty for a whole-list edition.

    Templates that name ``reader`` (each recipient's own attributes, ``{{ reader.city }}``) are
    found once, from their syntax trees: the edition then carries ``per_reader``, with which
    delivery renders a copy per distinct combination of the attributes read, or, when every
    use is a plain ``{{ reader.x }}``, fills each reader's values into one render with
    placeholders (``ReaderTemplates.filler``). This render,
    for previews and the archive, has an empty ``reader``.
    """
    html_env, context, marker = _prepare(config, edition)
    context["segment"] = Segment(segment or {})
    text_env = environment(config, autoescape=False)
    names = (html_template(config), text_template(config))

    def render(reader: Mapping[str, str]) -> RenderedEdition:
        values = dict(context, reader=Reader(reader))
        html = _compile(html_env, names[0], values, edition.id)
        text = tidy_text(render_named(text_env, names[1], values, edition.id))
        return RenderedEdition(
            edition=edition, subject=edition.subject, html=html, text=text, marker=marker
        )

    rendered = render({})
    used, fields = attributes_read(html_env, names, "reader")
    if not used:
        return rendered
    slots = plain_reads(html_env, names, "reader")
    return dataclasses.replace(rendered, per_reader=ReaderTemplates(fields, render, slots))


def _compile(env: jinja2.Environment, name: str, context: dict[str, Any], edition_id: str) -> str:
    """The MJML template rendered and compiled to HTML; MJML errors name the template line."""
    # lazy: mjml (a compiled MJML engine) loads only when an edition is rendered
    from mjml import mjml2html

    source = render_named(env, name, context, edition_id)
    try:
        return mjml2html(source, disable_comments=True, fonts={})
    except ValueError as exc:
        raise TemplateError(_mjml_message(env, context, source, exc, edition_id, name)) from None


def html_template(config: Config) -> str:
    """``[email] template`` (or a newsletter's ``template``) + ``.mjml.j2``."""
    name = config.model.email.template
    return HTML_TEMPLATE if name == "email" else f"{name}.mjml.j2"


def text_template(config: Config) -> str:
    """``[email] template`` (or a newsletter's ``template``) + ``.txt.j2``."""
    name = config.model.email.template
    return TEXT_TEMPLATE if name == "email" else f"{name}.txt.j2"


def mjml_source(config: Config, edition: Edition) -> str:
    """The MJML that ``render_edition`` compiles, for debugging a template override."""
    html_env, context, _ = _prepare(config, edition)
    return render_named(html_env, html_template(config), context, edition.id)


def _prepare(config: Config, edition: Edition) -> tuple[jinja2.Environment, dict[str, Any], str]:
    """The HTML environment, the context both templates are rendered with, and the marker."""
    marker = hashlib.sha256(repr(edition).encode("utf-8")).hexdigest()[:24]
    html_env = environment(config, autoescape=True)
    css = _template_source(html_env, CSS_TEMPLATE, edition.id)
    full = config.model.email.full_content
    articles = [
        _email_article(config, article, css=css, full=full, made=edition.created)
        for article in edition.articles
    ]
    return html_env, _context(config, edition, articles, marker), marker


def render_subject(
    config: Config, *, edition_id: str, created: datetime, articles: Sequence[Article]
) -> str:
    """The subject line from ``[email] subject`` (Jinja2, autoescape off: it is not HTML)."""
    edition = {"id": edition_id, "created": created, "articles": list(articles)}
    try:
        subject = render_string(
            config.model.email.subject,
            publication=config.publication,
            edition=edition,
            articles=list(articles),
        )
    except TemplateError as exc:
        raise _subject_error(config, str(exc)) from None
    subject = subject.strip()
    if "\r" in subject or "\n" in subject:
        raise _subject_error(
            config, "renders with a line break (CR/LF), which would inject email headers"
        )
    if not subject:
        raise _subject_error(config, "renders as empty text")
    return subject


def _subject_error(config: Config, message: str) -> TemplateError:
    """``config.toml:LINE: [email] subject: message``."""
    try:
        line = key_line(config.path.read_text(encoding="utf-8"), ("email", "subject"))
    except OSError:
        line = None
    where = f"{config.path}:{line}" if line else f"{config.path}"
    return TemplateError(f"{where}: [email] subject: {message}")


def html_warnings(html: str) -> list[str]:
    """Things an editor must hear about before sending: today, only Gmail's clipping size."""
    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        return [
            f"the HTML is {size / 1024:.0f} KB; Gmail clips messages over 102 KB (footer and "
            "unsubscribe link included): lower [email] max_articles or turn off full_content"
        ]
    return []


def environment(config: Config, *, autoescape: bool) -> jinja2.Environment:
    """The templates' environment for an edition or a correction notice: ``wrap`` added."""
    env = template_environment(config, autoescape=autoescape)
    env.filters["wrap"] = _wrap_filter
    return env


def _wrap_filter(text: str, width: int = TEXT_WIDTH, indent: str = "") -> str:
    return "\n".join(wrap(text, width, initial_indent=indent, subsequent_indent=indent))


def _template_source(env: jinja2.Environment, name: str, edition_id: str) -> str:
    source = template_source(env, name)
    if source is None:
        raise TemplateError(f"{name}: template not found (edition {edition_id})")
    return source


def render_named(
    env: jinja2.Environment, name: str, context: dict[str, Any], edition_id: str
) -> str:
    """Render a named template; any failure names the template file, line and edition."""
    try:
        return render_template(env, name, **context)
    except TemplateError as exc:
        raise TemplateError(f"{exc} (edition {edition_id})") from None


def _mjml_message(
    env: jinja2.Environment,
    context: dict[str, Any],
    source: str,
    exc: ValueError,
    edition_id: str,
    name: str = HTML_TEMPLATE,
) -> str:
    """Point an MJML failure at the template line that produced the bad markup.

    mjml-python gives no position, so the rendered MJML is parsed with lxml for one, and
    the template is rendered again chunk by chunk to learn which template line wrote it.
    """
    # lazy: lxml loads only to locate an MJML error (a failing edition), never on the way out
    from lxml import etree

    template = env.get_template(name)
    where = template.filename or name
    detail = f"invalid MJML: {exc}"
    try:
        etree.fromstring(source.encode("utf-8"), etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as syntax:
        line = syntax.position[0]
        detail = f"invalid MJML (rendered line {line}: {syntax.msg}); mjml says: {exc}"
        origin = _template_line(template, context, line)
        if origin is not None:
            where = f"{origin[0]}:{origin[1]}"
    return f"{where}: {detail} (edition {edition_id})"


def _template_line(
    template: jinja2.Template, context: dict[str, Any], output_line: int
) -> tuple[str, int] | None:
    """The (file, line) of the template code that wrote line ``output_line`` of the output.

    Each chunk Jinja yields is traced to the template line of the code that yielded it; within
    a chunk of static template text, output lines and template lines correspond one to one.
    """
    generator = template.root_render_func(template.new_context(context))
    before = 0  # newlines written before the current chunk
    for chunk in generator:
        if before + chunk.count("\n") < output_line - 1:
            before += chunk.count("\n")
            continue
        inner: Any = generator
        while getattr(inner, "gi_yieldfrom", None) is not None:
            inner = inner.gi_yieldfrom
        frame = getattr(inner, "gi_frame", None)
        if frame is None or frame.f_globals.get("__jinja_template__") is None:
            return None
        owner = frame.f_globals["__jinja_template__"]
        line = owner.get_corresponding_lineno(frame.f_lineno)
        source = _source_of(owner)
        if chunk and chunk in source:
            line = source[: source.index(chunk)].count("\n") + 1 + (output_line - 1 - before)
        return owner.filename or owner.name, line
    return None


def _source_of(template: jinja2.Template) -> str:
    if template.filename is None:
        return ""
    try:
        return Path(template.filename).read_text(encoding="utf-8")
    except OSError:
        return ""


def _context(
    config: Config, edition: Edition, articles: list[EmailArticle], marker: str
) -> dict[str, Any]:
    pub = config.publication
    created = edition.created.astimezone(pub.timezone)
    first = edition.articles[0]
    return {
        "publication": pub,
        "edition": edition,
        "edition_date": long_date(created),
        "articles": articles,
        "preheader": shorten(first.dek or first.summary or first.title, PREHEADER_LENGTH),
        "full_content": config.model.email.full_content,
        "recipient": {field: placeholder(marker, field) for field in PLACEHOLDER_FIELDS},
        "email_width": EMAIL_WIDTH,
        "content_width": CONTENT_WIDTH,
        "text_width": TEXT_WIDTH,
        "newsletter": _newsletter(config, edition),
        "segment": Segment(),
        "reader": Reader(),
    }


def _newsletter(config: Config, edition: Edition) -> Newsletter | None:
    """The newsletter an edition belongs to (None for a one-newsletter publication)."""
    for item in configured_newsletters(config):
        if item.id == edition.newsletter:
            return item
    return None


def _email_article(
    config: Config, article: Article, *, css: str, full: bool, made: datetime
) -> EmailArticle:
    pub = config.publication
    local = article.date.astimezone(pub.timezone)
    width, height = hero_size(article.image) if article.image else (CONTENT_WIDTH, None)
    lang = article.lang if article.lang and article.lang != pub.language else ""
    if full:
        body = Markup(email_fragment(article.html, css=css, lang=lang))
        block = render_markdown_text(article.body, base_url=article.url, width=TEXT_WIDTH)
        text, links = block.text, format_links(block.links)
    else:
        body = Markup("")
        text, links = _wrap_filter(article.summary) + "\n" if article.summary else "", ""
    return EmailArticle(
        article=article,
        title=article.title,
        url=article.url,
        dek=article.dek,
        summary=article.summary,
        byline=_byline(article),
        date=local,
        date_text=long_date(local),
        section=article.section,
        image=article.image,
        image_width=width,
        image_height=height,
        body=body,
        text=text,
        links=links,
        # Notes made by the edition's moment: a later one is the archive's and a notice's.
        notes=tuple(
            EmailNote(heading=heading(c, pub.timezone), text=c.text)
            for c in article.corrections
            if c.date <= made
        ),
        notes_top=pub.corrections.position == "top",
    )


def _byline(article: Article) -> str:
    names = [author.name for author in article.authors if author.name]
    if not names:
        return ""
    if len(names) == 1:
        return f"By {names[0]}"
    return f"By {', '.join(names[:-1])} and {names[-1]}"
