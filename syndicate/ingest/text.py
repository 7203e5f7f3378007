"""Plain text as a CMS exports it or an editor pastes it -> an ImportedDocument.

The rules (README, "syndicate import"): the first line is the title; a ``by NAME`` line the
author; the single line right after the byline the dek; short standalone lines without final
punctuation that introduce more text are ``##`` headings; ``•``/``-``/``*``/``1.`` lines are
list items; "Did you know?", "Pro Tip:", "Note:" ... open callouts; runs of ``Q:``/``A:``
become one FAQ block; the first paragraph is the summary; trailing site boilerplate goes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from ..model import Author
from . import boilerplate
from .dates import parse_loose_date
from .document import ImportedDocument, SourceError
from .markup import (
    QA_LINE,
    callout,
    callout_lead,
    escape_block,
    escape_inline,
    faq,
    qa_pairs,
)

TITLE_MAX = 150
DEK_MAX = 200
HEADING_MAX = 120
HEADING_WORDS = 16
LEAD_IN_WORDS = 6

_BULLET = re.compile(r"^(?P<indent>[ ]*)(?P<marker>[•◦▪‣●·*-]|\d{1,3}[.)])[ ]+(?P<text>\S.*)$")
_BYLINE = re.compile(
    r"^(?:by|written\s+by|words\s+by|reported\s+by|text\s+by)\s*:?\s+(?P<rest>\S.*)$",
    re.IGNORECASE,
)
_NAME = re.compile(r"^[^\W\d_][\w.'\u2019-]*(?:\s+[\w.'\u2019-]+){0,5}$")
_NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b)\s*")
_BYLINE_PARTS = re.compile(r"\s+[|·•—\u2013-]\s+|\s*\|\s*")
_FAQ_LABEL = re.compile(r"^(?:faqs?\b|frequently\s+asked\s+questions\b)", re.IGNORECASE)
_LEAD_IN = re.compile(r"^(?P<lead>[^\W\d_][^:.!?;]{0,60}?):[ ]+(?P<rest>\S.*)$")
_FINAL_PUNCT = ".!?,;:…"
_CLOSERS = "\"'\u2019”»)]"


@dataclass(slots=True)
class _Item:
    """One list item: its marker, its lines (first + continuation) and nested items."""

    indent: int
    marker: str
    lines: list[str]
    children: list[_Item] = field(default_factory=list)

    @property
    def ordered(self) -> bool:
        return self.marker[0].isdigit()


@dataclass(slots=True)
class _Para:
    lines: list[str]

    @property
    def single(self) -> str | None:
        return self.lines[0] if len(self.lines) == 1 else None


@dataclass(slots=True)
class _List:
    items: list[_Item]


@dataclass(slots=True)
class _Faq:
    pairs: list[tuple[str, str]]


_Block = _Para | _List | _Faq


def parse_text(text: str, zone: tzinfo) -> ImportedDocument:
    """Plain text -> title, authors, dek, date and a Markdown body; SourceError if no title."""
    lines = _normalise(text)
    dropped: list[str] = []
    kept: list[str] = []
    for line in lines:
        if boilerplate.is_advertisement(line):
            dropped.append(line.strip())
        else:
            kept.append(line)
    cut = boilerplate.trailing_start(kept)
    dropped.extend(line.strip() for line in kept[cut:] if line.strip())
    lines = kept[:cut]

    header = _header(lines, zone)
    blocks = _blocks(lines[header.body_start :])
    dek = ""
    if header.authors and len(blocks) > 1 and _is_dek(blocks[0]):
        assert isinstance(blocks[0], _Para)
        dek = blocks[0].lines[0]
        blocks = blocks[1:]
    if not blocks:
        raise SourceError("no article text below the title")
    body, summary = _render(blocks)
    return ImportedDocument(
        title=header.title,
        body=body,
        date=header.date,
        dek=dek,
        summary=summary,
        authors=tuple(Author(name=name) for name in header.authors),
        dropped=tuple(dropped),
    )


def _normalise(text: str) -> list[str]:
    """Windows/old-Mac line ends, tabs, trailing blanks and NBSP-only lines made uniform."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [line.expandtabs(4).rstrip() if line.strip() else "" for line in text.split("\n")]


@dataclass(frozen=True, slots=True)
class _Header:
    title: str
    authors: tuple[str, ...]
    date: datetime | None
    body_start: int


def _header(lines: Sequence[str], zone: tzinfo) -> _Header:
    """Title line, then byline and date lines (each optional) at the top of the file."""
    start = next((index for index, line in enumerate(lines) if line.strip()), None)
    if start is None:
        raise SourceError("no text left once site boilerplate was removed")
    title = lines[start].strip()
    _check_title(title)
    authors: tuple[str, ...] = ()
    found: datetime | None = None
    index = start + 1
    if index < len(lines) and lines[index].strip():
        line = lines[index].strip()
        if not _byline_names(_BYLINE_PARTS.split(line)[0]) and parse_loose_date(line, zone) is None:
            raise SourceError(
                f"no recognisable title: the first line {_quote(title)} runs on into a "
                "paragraph; put the title on a line of its own"
            )
    while True:
        while index < len(lines) and not lines[index].strip():
            index += 1
        if index >= len(lines):
            break
        line = lines[index].strip()
        names, when = _byline(line, zone)
        if names and not authors:
            authors, found = names, found or when
        elif found is None and (when := parse_loose_date(line, zone)) is not None:
            found = when
        else:
            break
        index += 1
    return _Header(title=title, authors=authors, date=found, body_start=index)


def _check_title(title: str) -> None:
    problem = ""
    if not any(ch.isalpha() for ch in title):
        problem = "it has no letters"
    elif len(title) > TITLE_MAX:
        problem = f"it is {len(title)} characters long (a paragraph, not a title)"
    elif _BULLET.match(title) or QA_LINE.match(title) or _byline_names(title):
        problem = "it is a list item, question or byline"
    elif title.endswith((",", ";", ":")):
        problem = "it ends like an unfinished sentence"
    if problem:
        raise SourceError(
            f"no recognisable title: the first line {_quote(title)} cannot be one ({problem}); "
            "start the file with the title on a line of its own"
        )


def _quote(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _byline(line: str, zone: tzinfo) -> tuple[tuple[str, ...], datetime | None]:
    """``by Jane Doe and Max Roe | 3 November 2026`` -> names, and the date if one is given."""
    parts = _BYLINE_PARTS.split(line)
    names = _byline_names(parts[0])
    if not names:
        return (), None
    when = next(
        (found for part in parts[1:] if (found := parse_loose_date(part, zone)) is not None),
        None,
    )
    return names, when


def _byline_names(text: str) -> tuple[str, ...]:
    match = _BYLINE.match(text.strip())
    if not match:
        return ()
    names = [name.strip() for name in _NAME_SPLIT.split(match.group("rest").rstrip(".")) if name]
    if not names or not all(_NAME.match(name) and name[0].isupper() for name in names):
        return ()
    return tuple(names)


def _is_dek(block: _Block) -> bool:
    """The single line under the byline is the subtitle unless it is a sentence or a device."""
    if not isinstance(block, _Para) or block.single is None:
        return False
    line = block.single
    return (
        len(line) <= DEK_MAX
        and not line.rstrip(_CLOSERS).endswith((".", ",", ";", ":"))
        and callout_lead(line) is None
        and not boilerplate.is_furniture(line)
    )


# ---------------------------------------------------------------------------------------
# Lines -> blocks


def _blocks(lines: Sequence[str]) -> list[_Block]:
    """Group lines into paragraphs, lists (nested by indentation) and Q/A runs."""
    blocks: list[_Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line:
            index += 1
        elif _BULLET.match(line):
            index = _read_list(lines, index, blocks)
        elif QA_LINE.match(line.strip()):
            index = _read_qa(lines, index, blocks)
        else:
            para = [line.strip()]
            index += 1
            while index < len(lines) and lines[index] and not _starts_block(lines[index]):
                para.append(lines[index].strip())
                index += 1
            blocks.append(_Para(para))
    return _faq_lists(blocks)


def _starts_block(line: str) -> bool:
    return bool(_BULLET.match(line) or QA_LINE.match(line.strip()))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _read_list(lines: Sequence[str], index: int, blocks: list[_Block]) -> int:
    roots: list[_Item] = []
    stack: list[_Item] = []
    blank = False
    while index < len(lines):
        line = lines[index]
        bullet = _BULLET.match(line)
        if not line:
            blank = True
        elif bullet:
            item = _Item(_indent(line), bullet.group("marker"), [bullet.group("text").strip()])
            while stack and stack[-1].indent >= item.indent:
                stack.pop()
            if stack and item.indent > stack[-1].indent + 1:
                stack[-1].children.append(item)
            else:
                stack.clear()
                roots.append(item)
            stack.append(item)
            blank = False
        elif stack and (not blank or _indent(line) > stack[-1].indent):
            stack[-1].lines.append(line.strip())
            blank = False
        else:
            break
        index += 1
    blocks.append(_List(roots))
    return index


def _read_qa(lines: Sequence[str], index: int, blocks: list[_Block]) -> int:
    run: list[str] = []
    blank = False
    while index < len(lines):
        line = lines[index]
        if not line:
            blank = True
        elif QA_LINE.match(line.strip()) or (run and not blank and not _BULLET.match(line)):
            run.append(line.strip())
            blank = False
        else:
            break
        index += 1
    pairs = qa_pairs(run)
    blocks.append(_Faq(pairs) if pairs else _Para(run))
    return index


def _faq_lists(blocks: list[_Block]) -> list[_Block]:
    """A list whose items are all ``Q:``/``A:`` (like the CMS export's FAQ) is an FAQ."""
    result: list[_Block] = []
    for block in blocks:
        if isinstance(block, _List) and QA_LINE.match(block.items[0].lines[0]):
            lines = [line for item in block.items for line in _flatten(item)]
            pairs = qa_pairs(lines)
            if pairs:
                result.append(_Faq(pairs))
                continue
        result.append(block)
    return result


def _flatten(item: _Item) -> list[str]:
    return [*item.lines, *(line for child in item.children for line in _flatten(child))]


# ---------------------------------------------------------------------------------------
# Blocks -> Markdown


def _render(blocks: Sequence[_Block]) -> tuple[str, str]:
    """Markdown body and the summary (the first paragraph's text)."""
    out: list[str] = []
    summary = ""
    index = 0
    while index < len(blocks):
        block = blocks[index]
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if isinstance(block, _Faq):
            out.append(faq([(escape_inline(q), escape_inline(a)) for q, a in block.pairs]))
        elif isinstance(block, _List):
            out.extend(_render_list(block.items))
        else:
            line = block.single
            lead = callout_lead(block.lines[0])
            if lead is not None:
                kind, title, rest = lead
                texts = [" ".join([rest, *block.lines[1:]]).strip()]
                if not texts[0] and isinstance(following, _Para):
                    texts = [" ".join(following.lines)]
                    index += 1
                out.append(callout(kind, title, [escape_block(t) for t in texts if t]))
            elif line is not None and isinstance(following, _Faq) and _is_faq_label(line):
                out.append(f"**{escape_inline(line)}**")
            elif line is not None and following is not None and _is_heading(line):
                out.append(f"## {escape_inline(line)}")
            else:
                text = " ".join(block.lines)
                summary = summary or text
                out.append(escape_block(text))
        index += 1
    return "\n\n".join(out) + "\n", summary


def _is_heading(line: str) -> bool:
    """Short, standalone, no final punctuation, not a device (callout, byline, list ...)."""
    bare = line.rstrip(_CLOSERS)
    return (
        len(line) <= HEADING_MAX
        and len(line.split()) <= HEADING_WORDS
        and any(ch.isalpha() for ch in line)
        and not bare.endswith(tuple(_FINAL_PUNCT))
        and callout_lead(line) is None
        and not _byline_names(line)
    )


def _is_faq_label(line: str) -> bool:
    return len(line) <= HEADING_MAX and (bool(_FAQ_LABEL.match(line)) or _is_heading(line))


def _render_list(items: Sequence[_Item]) -> list[str]:
    """List items as Markdown lists; a callout among them splits the list around it."""
    out: list[str] = []
    current: list[str] = []
    for item in items:
        text_lines: list[str] = []
        extra: list[str] = []
        for number, line in enumerate(item.lines):
            lead = callout_lead(line)
            if lead is not None:
                kind, title, rest = lead
                body = [rest, *item.lines[number + 1 :]]
                extra.append(callout(kind, title, [escape_block(" ".join(body).strip())]))
                break
            text_lines.append(line)
        if text_lines:
            current.append(_item_markdown(item, " ".join(text_lines)))
        if extra:
            if current:
                out.append("\n".join(current))
                current = []
            out.extend(extra)
        if not text_lines and item.children:  # the item became a callout: sub-items follow it
            current.extend(line.removeprefix("  ") for line in _children_markdown(item, "  "))
    if current:
        out.append("\n".join(current))
    return out


def _item_markdown(item: _Item, text: str) -> str:
    marker = f"{item.marker[:-1]}." if item.ordered else "-"
    lead = _LEAD_IN.match(text)
    if lead and len(lead.group("lead").split()) <= LEAD_IN_WORDS:
        body = f"**{escape_inline(lead.group('lead'))}:** {escape_inline(lead.group('rest'))}"
    else:
        body = escape_block(text)  # an item's text opens a block of its own, like a paragraph
    return "\n".join([f"{marker} {body}", *_children_markdown(item, " " * (len(marker) + 1))])


def _children_markdown(item: _Item, pad: str) -> list[str]:
    """Nested items, indented under their parent's text."""
    lines: list[str] = []
    first = item.children[0] if item.children else None
    if first is not None and first.ordered and int(first.marker[:-1]) != 1:
        lines.append("")  # a list starting at 3 may not interrupt the parent's paragraph
    for child in item.children:
        child_md = _item_markdown(child, " ".join(child.lines))
        lines.extend(pad + line if line else "" for line in child_md.split("\n"))
    return lines
