"""Markdown -> plain text that reads as if an editor had typed it, for digests and email.

Rendered from the Markdown token stream (never from HTML, whose converters leave table debris
and 400-column lines). The text format, documented in the README:

- paragraphs wrapped at ``width`` columns (wide-character aware, see ``textwidth``);
- headings as ``# Title``, ``## Title`` ... (one ``#`` per level);
- lists with hanging indents: ``-``/``*``/``+`` by depth, ``1.`` numbers right-aligned;
- block quotes prefixed ``> ``; code blocks verbatim, indented four spaces (a line too wide is
  folded, its continuation starting with ``↪``);
- callouts as a label line (``TIP:`` or ``TIP: Custom title``) over a body indented two spaces;
- FAQs as ``Q:``/``A:`` pairs; images as ``[Image: alt text]``; a rule as ``* * *``;
- links as ``text [1]``, numbered in order of first appearance, URLs made absolute and listed
  by ``format_links``; raw HTML dropped (script and style contents too), entities decoded;
- tables as aligned columns when they fit, otherwise one ``Header: value`` block per row.

Every line is at most ``width`` columns except a line holding a single URL, and none has
trailing spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ..content.markdown import parse
from ..content.render import STRUCK, cell_align
from .html import html_to_text
from .tables import render_table
from .width import GLUE, SPACES, clean_controls, graphemes, text_width, wrap

if TYPE_CHECKING:
    from markdown_it.token import Token

__all__ = ["TextBlock", "format_links", "render_markdown_text", "wrap"]

BULLETS = ("-", "*", "+")
CODE_INDENT = "    "
CONTINUATION = "↪ "
_HIDDEN_INLINE = re.compile(r"<(/?)(script|style|template|noscript)\b", re.IGNORECASE)
_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
_STRUCK_TAG = re.compile(r"<(/?)(?:del|s|strike)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Rendered text of one article body and its numbered links.

    ``text`` is wrapped, has no trailing spaces and ends with ``"\\n"`` (empty body: ``""``);
    link ``[n]`` in it is ``links[n - link_start]``.
    """

    text: str
    links: tuple[str, ...]


@dataclass(slots=True)
class _Node:
    """A block token with its children: the token stream folded into a tree."""

    token: Token
    children: list[_Node] = field(default_factory=list)
    inline: Token | None = None


@dataclass(slots=True)
class _Context:
    """Rendering state shared by one body: the link list and the narrowest usable width."""

    base_url: str
    link_start: int
    floor: int
    list_depth: int = 0
    links: list[str] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)

    def number(self, url: str) -> int:
        """The reference number of a URL; a repeated URL keeps its first number."""
        if url not in self.numbers:
            self.numbers[url] = self.link_start + len(self.links)
            self.links.append(url)
        return self.numbers[url]


def render_markdown_text(
    body: str, *, base_url: str, width: int = 72, link_start: int = 1
) -> TextBlock:
    """A Markdown body as wrapped plain text plus its link list (relative links made absolute
    against ``base_url``, normally the article's URL)."""
    width = max(width, 8)
    context = _Context(base_url=base_url, link_start=link_start, floor=max(8, min(width, 20)))
    tree = _tree(parse(clean_controls(body).replace(GLUE, "")))
    lines = _blocks(tree, width, context, tight=False)
    text = "\n".join(line.rstrip() for line in lines).strip("\n").replace(GLUE, " ")
    return TextBlock(text=text + "\n" if text else "", links=tuple(context.links))


def format_links(links: Sequence[str], *, start: int = 1) -> str:
    """The numbered link list, one ``[n] URL`` per line, numbers right-aligned; "" if none."""
    if not links:
        return ""
    last = len(f"[{start + len(links) - 1}]")
    return "".join(
        f"{f'[{number}]':>{last}} {url}\n" for number, url in enumerate(links, start=start)
    )


def _tree(tokens: Sequence[Token]) -> list[_Node]:
    """Fold the flat token stream into nested block nodes (inline tokens attach to their block)."""
    root: list[_Node] = []
    stack: list[_Node] = []
    for token in tokens:
        if token.type == "callout_marker":
            continue
        siblings = stack[-1].children if stack else root
        if token.nesting == 1:
            node = _Node(token)
            siblings.append(node)
            stack.append(node)
        elif token.nesting == -1:
            if stack:
                stack.pop()
        elif token.type == "inline" and stack:
            stack[-1].inline = token
        else:
            siblings.append(_Node(token))
    return root


def _blocks(nodes: Sequence[_Node], width: int, ctx: _Context, *, tight: bool) -> list[str]:
    """Render sibling blocks, separated by one blank line (none in a tight list item)."""
    lines: list[str] = []
    for node in nodes:
        rendered = _block(node, width, ctx)
        if not rendered:
            continue
        if lines and not tight:
            lines.append("")
        lines.extend(rendered)
    return lines


def _block(node: _Node, width: int, ctx: _Context) -> list[str]:
    kind = node.token.type
    if kind == "paragraph_open":
        return _paragraph(node.inline, width, ctx)
    if kind == "heading_open":
        marks = "#" * int(node.token.tag[1:]) + " "
        text = _inline(node.inline, ctx)
        return wrap(text, width, initial_indent=marks, subsequent_indent=" " * len(marks))
    if kind in ("bullet_list_open", "ordered_list_open"):
        return _list(node, width, ctx)
    if kind == "blockquote_open":
        return _quote(node, width, ctx)
    if kind == "callout_open":
        return _callout(node, width, ctx)
    if kind in ("fence", "code_block"):
        return _code(node.token.content, width, ctx)
    if kind == "faq_open":
        return _faq(node, width, ctx)
    if kind == "table_open":
        rows, aligns = _table_rows(node, ctx)
        return render_table(rows, aligns, width)
    if kind == "hr":
        return [" " * max(0, (width - 5) // 2) + "* * *"]
    if kind == "html_block":
        paragraphs = html_to_text(node.token.content)
        return _blocks_of_text(paragraphs, width)
    # Unknown containers from plugins: render what they hold.
    return _blocks(node.children, width, ctx, tight=False)


def _paragraph(inline: Token | None, width: int, ctx: _Context) -> list[str]:
    """A paragraph; hard line breaks (two spaces, backslash or <br>) start a new line."""
    text = _inline(inline, ctx)
    lines: list[str] = []
    for part in text.split("\n"):
        lines.extend(wrap(part, width))
    return lines


def _blocks_of_text(paragraphs: Sequence[str], width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in paragraphs:
        wrapped = wrap(paragraph, width)
        if wrapped and lines:
            lines.append("")
        lines.extend(wrapped)
    return lines


def _fits(width: int, indent: int, ctx: _Context) -> bool:
    """Whether a container may indent further; past the floor, deep nesting stops indenting
    so that no line ever has to exceed the width."""
    return width - indent >= ctx.floor


def _quote(node: _Node, width: int, ctx: _Context) -> list[str]:
    if not _fits(width, 2, ctx):
        return _blocks(node.children, width, ctx, tight=False)
    lines = _blocks(node.children, width - 2, ctx, tight=False)
    return [("> " + line).rstrip() if line else ">" for line in lines]


def _list(node: _Node, width: int, ctx: _Context) -> list[str]:
    ordered = node.token.type == "ordered_list_open"
    items = [child for child in node.children if child.token.type == "list_item_open"]
    tight = all(
        child.token.hidden
        for item in items
        for child in item.children
        if child.token.type == "paragraph_open"
    )
    start = int(node.token.attrGet("start") or 1) if ordered else 1
    depth = ctx.list_depth
    number_width = len(f"{start + len(items) - 1}.")
    lines: list[str] = []
    for index, item in enumerate(items):
        if ordered:
            marker = f"{f'{start + index}.':>{number_width}} "
        else:
            marker = BULLETS[depth % len(BULLETS)] + " "
        indent = len(marker)
        if not _fits(width, indent, ctx):
            marker, indent = marker.strip() + " ", 0
        ctx.list_depth += 1
        body = _blocks(item.children, width - indent, ctx, tight=tight)
        ctx.list_depth -= 1
        if lines and not tight:
            lines.append("")
        if not body:
            lines.append(marker.rstrip())
            continue
        lines.append((marker + body[0]).rstrip() if indent else marker.rstrip())
        rest = body[1:] if indent else body
        lines.extend((" " * indent + line).rstrip() if line else "" for line in rest)
    return lines


def _callout(node: _Node, width: int, ctx: _Context) -> list[str]:
    meta: dict[str, Any] = node.token.meta or {}
    label = str(meta.get("kind", "note")).replace("-", " ").upper() + ":"
    if meta.get("custom"):
        label += " " + _clean(str(meta.get("title", "")))
    head = wrap(label, width, subsequent_indent="  ")
    indent = 2 if _fits(width, 2, ctx) else 0
    body = _blocks(node.children, width - indent, ctx, tight=False)
    return head + [(" " * indent + line).rstrip() if line else "" for line in body]


def _faq(node: _Node, width: int, ctx: _Context) -> list[str]:
    lines: list[str] = []
    for child in node.children:
        kind = child.token.type
        if kind not in ("faq_question_open", "faq_answer_open"):
            continue
        label = "Q: " if kind == "faq_question_open" else "A: "
        if label == "Q: " and lines:
            lines.append("")
        parts = _inline(child.inline, ctx).split("\n") or [""]
        for number, part in enumerate(parts):
            first = label if number == 0 else "   "
            lines.extend(wrap(part, width, initial_indent=first, subsequent_indent="   ") or [])
        if not parts[0].strip():
            lines.append(label.rstrip())
    return lines


def _code(content: str, width: int, ctx: _Context) -> list[str]:
    """Code verbatim (tabs expanded); a line wider than the room is folded, never reflowed."""
    indent = CODE_INDENT if _fits(width, len(CODE_INDENT), ctx) else ""
    room = width - len(indent)
    lines: list[str] = []
    for raw in content.rstrip("\n").split("\n"):
        line = raw.expandtabs(4).rstrip()
        lines += [(indent + part).rstrip() for part in _fold_all(line, room)]
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def _fold_all(line: str, room: int) -> list[str]:
    """``line`` cut into pieces at most ``room`` wide, every one after the first marked as a
    continuation; in one pass over the line (measuring the rest again for every piece made a
    line of 100,000 tabs take minutes)."""
    if text_width(line) <= room:
        return [line]
    parts: list[str] = []
    current = ""
    used = 0
    for cluster in graphemes(line):
        size = text_width(cluster)
        if used + size > room and current:
            parts.append(current)
            current = CONTINUATION
            used = text_width(CONTINUATION)
        current += cluster
        used += size
    parts.append(current)
    return parts


def _table_rows(node: _Node, ctx: _Context) -> tuple[list[list[str]], list[str]]:
    """Rows of cell texts (the header row first) and each column's alignment."""
    rows: list[list[str]] = []
    aligns: list[str] = []

    def visit(current: _Node) -> None:
        for child in current.children:
            if child.token.type == "tr_open":
                cells = []
                for cell in child.children:
                    cells.append(_inline(cell.inline, ctx).replace("\n", " "))
                    if not rows:
                        aligns.append(cell_align(cell.token))
                rows.append(cells)
            else:
                visit(child)

    visit(node)
    return rows, aligns


def _inline(token: Token | None, ctx: _Context) -> str:
    """Inline tokens -> text with ``[n]`` link markers; "\\n" marks a hard line break."""
    if token is None:
        return ""
    parts: list[str] = []
    hidden = 0
    links: list[tuple[str, int, bool]] = []  # (url, start index in parts, is autolink)
    for child in token.children or []:
        kind = child.type
        if kind == "html_inline":
            match = _HIDDEN_INLINE.match(child.content)
            if match:
                hidden = max(0, hidden + (-1 if match.group(1) else 1))
            elif _BREAK_TAG.match(child.content) and not hidden:
                parts.append("\n")
            elif (struck := _STRUCK_TAG.match(child.content)) and not hidden:
                parts.append(STRUCK["s_close" if struck.group(1) else "s_open"])
            continue
        if hidden:
            continue
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind in ("s_open", "s_close"):
            parts.append(STRUCK[kind])
        elif kind == "image":
            alt = _clean(child.content or _inline_alt(child))
            parts.append(f"[Image: {alt}]" if alt else "[Image]")
        elif kind == "link_open":
            href = str(child.attrGet("href") or "")
            links.append((href, len(parts), child.markup == "autolink"))
        elif kind == "link_close" and links:
            href, start, auto = links.pop()
            parts[start:] = [_link(href, "".join(parts[start:]), auto, ctx)]
    return _clean("".join(parts), keep_breaks=True)


def _inline_alt(image: Token) -> str:
    return "".join(c.content for c in image.children or [] if c.type in ("text", "code_inline"))


def _link(href: str, text: str, auto: bool, ctx: _Context) -> str:
    """Link text followed by its reference number; a bare URL stays as it is."""
    url = urljoin(ctx.base_url, href) if href else ""
    if not url:
        return text
    shown = text.strip()
    if auto or shown in (href, url, url.removeprefix("mailto:")):
        return url.removeprefix("mailto:") if url.startswith("mailto:") else url
    marker = f"[{ctx.number(url)}]"
    if not shown:
        return marker
    return text.rstrip() + GLUE + marker


def _clean(text: str, *, keep_breaks: bool = False) -> str:
    """Whitespace folded (hard breaks kept as "\\n" when asked); no leading/trailing space."""
    if keep_breaks:
        return "\n".join(SPACES.sub(" ", part).strip(" ") for part in text.split("\n"))
    return SPACES.sub(" ", text).strip(" ")
