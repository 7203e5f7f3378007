"""A sanitised HTML fragment -> Markdown in our dialect (headings, lists, quotes, images ...).

Written for the fragments ``render.sanitize`` lets through, not for arbitrary HTML: every tag
it knows becomes its Markdown form, any other tag is read for its text. Trailing site
furniture that extraction kept (a "Comments (12)" heading, share prompts) is dropped and
reported, and paragraphs that open with a callout lead become callouts, as in plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html

from . import boilerplate
from .markup import (
    QA_LINE,
    blockquote,
    callout,
    callout_lead,
    escape_block,
    escape_inline,
    escape_start,
    faq,
    qa_pairs,
)

_BLOCK_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "table",
    "hr", "figure", "div", "section", "article", "dl", "dt", "dd", "figcaption", "thead",
    "tbody", "tfoot", "tr", "details", "summary", "header", "main",
}  # fmt: skip
_UNRESOLVED = "file:"


@dataclass(frozen=True, slots=True)
class Converted:
    """The Markdown body, the first paragraph's text (the summary) and what was dropped."""

    markdown: str
    first_paragraph: str
    dropped: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(slots=True)
class _Block:
    markdown: str
    text: str  # plain text, for boilerplate matching and the summary
    kind: str  # "p", "h", "other"


@dataclass(slots=True)
class _State:
    notes: list[str] = field(default_factory=list)
    resolvable: bool = True


def fragment_to_markdown(fragment: str, *, title: str, resolvable: bool) -> Converted:
    """Sanitised HTML -> Markdown; a leading heading equal to ``title`` is dropped.

    ``resolvable`` is False when the page named no URL of its own: relative links and images
    then point nowhere (the sanitiser made them ``file:`` URLs); links keep their text and
    images are dropped, each with a note.
    """
    root = lxml_html.fragment_fromstring(fragment, create_parent="div") if fragment else None
    state = _State(resolvable=resolvable)
    blocks = _blocks(root, state) if root is not None else []
    if blocks and blocks[0].kind == "h" and _same(blocks[0].text, title):
        blocks = blocks[1:]
    dropped = [block.text for block in blocks if boilerplate.is_advertisement(block.text)]
    blocks = [block for block in blocks if not boilerplate.is_advertisement(block.text)]
    cut = boilerplate.trailing_start([block.text for block in blocks])
    dropped.extend(block.text for block in blocks[cut:] if block.text)
    blocks = blocks[:cut]
    blocks = _faq_runs(blocks)
    first = next((block.text for block in blocks if block.kind == "p"), "")
    markdown = "\n\n".join(block.markdown for block in blocks if block.markdown.strip())
    return Converted(markdown + "\n" if markdown else "", first, tuple(dropped), tuple(state.notes))


def _faq_runs(blocks: list[_Block]) -> list[_Block]:
    """Consecutive ``Q: ...`` / ``A: ...`` paragraphs -> one FAQ block, as in plain text."""
    result: list[_Block] = []
    index = 0
    while index < len(blocks):
        end = index
        while end < len(blocks) and blocks[end].kind == "p" and QA_LINE.match(blocks[end].text):
            end += 1
        pairs = qa_pairs([block.text for block in blocks[index:end]]) if end > index else None
        if pairs:
            markdown = faq([(escape_inline(q), escape_inline(a)) for q, a in pairs])
            result.append(_Block(markdown, " ".join(b.text for b in blocks[index:end]), "other"))
            index = end
        else:
            result.append(blocks[index])
            index += 1
    return result


def _same(one: str, other: str) -> bool:
    return re.sub(r"\W+", "", one).casefold() == re.sub(r"\W+", "", other).casefold()


def _blocks(element: Any, state: _State) -> list[_Block]:
    """Block children of a container; runs of inline content become paragraphs."""
    blocks: list[_Block] = []
    inline: list[Any] = []
    text = element.text or ""

    def flush(parts: list[Any], leading: str) -> None:
        markdown = (_escape_text(leading) + "".join(_inline(p, state) for p in parts)).strip()
        plain = _plain(leading + "".join(_text(p) for p in parts))
        if markdown:
            blocks.append(_paragraph(markdown, plain))

    leading = text
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag in _BLOCK_TAGS:
            flush(inline, leading)
            inline, leading = [], ""
            blocks.extend(_block(child, state))
            if child.tail and child.tail.strip():
                leading = child.tail
        else:
            inline.append(child)
    flush(inline, leading)
    return blocks


def _paragraph(markdown: str, plain: str) -> _Block:
    lead = callout_lead(plain)
    if lead is not None and lead[2]:
        kind, title, rest = lead
        return _Block(callout(kind, title, [escape_block(rest)]), plain, "other")
    return _Block(_block_safe(markdown), plain, "p")


def _block(element: Any, state: _State) -> list[_Block]:
    tag = element.tag
    if tag == "p":
        markdown = _inline_children(element, state).strip()
        if not markdown:
            return []
        return [_paragraph(markdown, _plain(_text(element)))]
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        markdown = _one_line(_inline_children(element, state))
        if not markdown:
            return []
        level = max(2, int(tag[1]))
        return [_Block(f"{'#' * level} {markdown}", _plain(_text(element)), "h")]
    if tag in ("ul", "ol"):
        return [_Block(_list(element, state), _plain(_text(element)), "other")]
    if tag == "blockquote":
        inner = _blocks(element, state)
        body = "\n\n".join(block.markdown for block in inner)
        return [_Block(blockquote(body), _plain(_text(element)), "other")] if inner else []
    if tag == "pre":
        code = element.text_content().strip("\n")
        fence = "`" * max(3, _longest_run(code, "`") + 1)
        return [_Block(f"{fence}\n{code}\n{fence}", code, "other")]
    if tag == "hr":
        return [_Block("---", "", "other")]
    if tag == "table":
        table = _table(element, state)
        return [_Block(table, _plain(_text(element)), "other")] if table else []
    return _blocks(element, state)


def _list(element: Any, state: _State) -> str:
    ordered = element.tag == "ol"
    start = int(element.get("start", "1")) if (element.get("start") or "").isdigit() else 1
    lines: list[str] = []
    for number, item in enumerate((c for c in element if c.tag == "li"), start=start):
        marker = f"{number}." if ordered else "-"
        pad = " " * (len(marker) + 1)
        inner = "\n\n".join(block.markdown for block in _blocks(item, state)) or ""
        first, *rest = inner.split("\n") if inner else [""]
        lines.append(f"{marker} {first}".rstrip())
        lines.extend(pad + line if line else "" for line in rest)
    return "\n".join(lines)


def _table(element: Any, state: _State) -> str:
    rows = [
        [_one_line(_inline_children(cell, state)).replace("|", "\\|") for cell in row]
        for row in element.iter("tr")
    ]
    rows = [row for row in rows if row]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines.extend("| " + " | ".join(row) + " |" for row in rows[1:])
    return "\n".join(lines)


def _inline_children(element: Any, state: _State) -> str:
    parts = [_escape_text(element.text or "")]
    for child in element:
        if isinstance(child.tag, str):
            parts.append(_inline(child, state))
        else:
            parts.append(_escape_text(child.tail or ""))
    return "".join(parts)


def _inline(element: Any, state: _State) -> str:
    """One inline element (and its tail) -> Markdown."""
    tag = element.tag
    tail = _escape_text(element.tail or "")
    if tag == "br":
        return "\\\n" + tail.lstrip()
    if tag == "img":
        return _image(element, state) + tail
    inner = _inline_children(element, state)
    if tag == "a":
        href = (element.get("href") or "").strip()
        if not href or (href.startswith(_UNRESOLVED) and not state.resolvable):
            if href:
                state.notes.append(
                    f"link {_text(element).strip()!r} kept as text: its address is relative "
                    "and the page names no URL of its own"
                )
            return inner + tail
        return f"[{inner.strip()}]({_url(href)})" + tail if inner.strip() else tail
    if tag in ("strong", "b", "em", "i", "del", "s"):
        mark = {"strong": "**", "b": "**", "em": "*", "i": "*"}.get(tag, "~~")
        return _wrap(inner, mark) + tail
    if tag == "code":
        code = _text(element)
        fence = "`" * (_longest_run(code, "`") + 1)
        pad = " " if code.startswith("`") or code.endswith("`") else ""
        return f"{fence}{pad}{code}{pad}{fence}" + tail if code else tail
    return inner + tail


def _image(element: Any, state: _State) -> str:
    src = (element.get("src") or "").strip()
    alt = re.sub(r"\s+", " ", element.get("alt") or "").strip()
    if not src or (src.startswith(_UNRESOLVED) and not state.resolvable):
        state.notes.append(
            f"image {alt or src!r} dropped: its address is relative and the page names no "
            "URL of its own"
        )
        return ""
    return f"![{escape_inline(alt)}]({_url(src)})"


def _wrap(inner: str, mark: str) -> str:
    """Emphasis with the spaces moved outside the markers, as CommonMark needs."""
    stripped = inner.strip()
    if not stripped:
        return inner
    before = inner[: len(inner) - len(inner.lstrip())]
    after = inner[len(inner.rstrip()) :]
    return f"{before}{mark}{stripped}{mark}{after}"


def _url(url: str) -> str:
    url = url.replace("<", "%3C").replace(">", "%3E")
    return f"<{url}>" if re.search(r"[\s()]", url) else url


def _escape_text(text: str) -> str:
    return escape_inline(re.sub(r"\s+", " ", text)) if text else ""


def _text(element: Any) -> str:
    return "".join(element.itertext())


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _one_line(markdown: str) -> str:
    return re.sub(r"\s*\\?\n\s*", " ", markdown).strip()


def _block_safe(markdown: str) -> str:
    """A paragraph must not start a block by accident (``1. ``, ``# ``, ``- ``)."""
    first = markdown.split("\n", 1)
    safe = escape_start(first[0])
    return safe if len(first) == 1 else f"{safe}\n{first[1]}"


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)
