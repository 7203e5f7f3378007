"""Writing Markdown from plain text: escaping, autolinks, callouts and FAQ blocks.

Plain text pasted from a CMS may hold characters that Markdown would read as markup (``*``,
``_``, ``[``, ``<`` ...). Every importer that builds Markdown from text goes through these
helpers, so the published article shows exactly the characters of the source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_URL = re.compile(r"https?://[^\s<>\"\[\]`]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?'\"\u2019”)»"
_INLINE_SPECIAL = re.compile(r"[\\`*\[\]<]|~~|&(?=#?[A-Za-z0-9]+;)")
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_ORDERED_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
QA_LINE = re.compile(r"^(?P<kind>Q|A|Question|Answer)[ ]*:[ ]*(?P<text>.*)$", re.IGNORECASE)

_CALLOUTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"^(?P<lead>{lead})[ ]*(?P<rest>.*)$", re.IGNORECASE), kind)
    for lead, kind in (
        (r"did you know\s*\?", "NOTE"),
        (r"fun fact\s*[:!]", "NOTE"),
        (r"(?:pro|quick|top)[ -]tips?\s*[:!]", "TIP"),
        (r"tips?\s*:", "TIP"),
        (r"editor[\u2019']?s[\u2019']?\s+note\s*:", "NOTE"),
        (r"note\s*:", "NOTE"),
        (r"important\s*:", "IMPORTANT"),
        (r"key\s+takeaways?\s*:", "IMPORTANT"),
        (r"warning\s*[:!]", "WARNING"),
        (r"caution\s*[:!]", "CAUTION"),
    )
)


def escape_inline(text: str) -> str:
    """Text -> Markdown inline source that renders as exactly that text (URLs become links)."""
    parts = []
    position = 0
    for match in _URL.finditer(text):
        url = _trim_url(match.group(0))
        start, end = match.start(), match.start() + len(url)
        parts.append(_escape_plain(text[position:start]))
        parts.append(f"<{url}>")
        position = end
    parts.append(_escape_plain(text[position:]))
    return "".join(parts)


def _trim_url(url: str) -> str:
    """Sentence punctuation after a URL is not part of it; a closing bracket only if unopened."""
    while url and url[-1] in _URL_TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _escape_plain(text: str) -> str:
    text = _INLINE_SPECIAL.sub(lambda m: "".join("\\" + ch for ch in m.group(0)), text)
    return _UNDERSCORE.sub(r"\\_", text)


def escape_block(text: str) -> str:
    """One line of text -> a Markdown line that starts no block (heading, list, quote ...)."""
    return escape_start(escape_inline(text.strip()))


def escape_start(line: str) -> str:
    """Escape the start of an (inline-escaped) Markdown line that would open a block."""
    if (line[:1] and line[0] in "#>+-=") or line.startswith(":::"):
        return "\\" + line
    ordered = _ORDERED_START.match(line)
    if ordered:
        return f"{ordered.group(1)}\\{ordered.group(2)}{line[ordered.end() :]}"
    return line


def callout(kind: str, title: str, paragraphs: Sequence[str]) -> str:
    """A ``> [!KIND] Title`` callout block; ``paragraphs`` are already Markdown.

    The lead ("Warning:") became the title, so a body that went on in lower case
    ("Warning: cabins cannot ...") starts its own sentence: its first letter is capitalised.
    """
    lines = [f"> [!{kind.upper()}] {title}".rstrip()]
    if paragraphs and paragraphs[0][:1].islower():
        paragraphs = [paragraphs[0][0].upper() + paragraphs[0][1:], *paragraphs[1:]]
    for index, paragraph in enumerate(paragraphs):
        if index:
            lines.append(">")
        lines.extend(f"> {line}" if line else ">" for line in paragraph.split("\n"))
    return "\n".join(lines)


def faq(pairs: Sequence[tuple[str, str]]) -> str:
    """A ``::: faq`` block of ``Q:``/``A:`` lines; questions and answers are Markdown."""
    lines = ["::: faq"]
    for question, answer in pairs:
        lines.append(f"Q: {_one_line(question)}")
        lines.append(f"A: {_one_line(answer)}")
    lines.append(":::")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


def qa_pairs(lines: Sequence[str]) -> list[tuple[str, str]] | None:
    """``Q:``/``A:`` lines (answers may run on) -> pairs; None unless every Q has an A."""
    pairs: list[list[str]] = []
    target = -1
    for line in lines:
        match = QA_LINE.match(line)
        if match:
            kind = match.group("kind")[0].upper()
            if kind == "Q":
                pairs.append([match.group("text"), ""])
                target = 0
            elif pairs and target == 0 and not pairs[-1][1]:
                pairs[-1][1] = match.group("text")
                target = 1
            else:
                return None
        elif pairs:
            pairs[-1][target] = f"{pairs[-1][target]} {line}".strip()
        else:
            return None
    if not pairs or not all(question and answer for question, answer in pairs):
        return None
    return [(question, answer) for question, answer in pairs]


def blockquote(markdown: str) -> str:
    """Prefix every line of a Markdown fragment with ``> ``."""
    return "\n".join(f"> {line}" if line else ">" for line in markdown.split("\n"))


def callout_lead(line: str) -> tuple[str, str, str] | None:
    """``Pro Tip: Follow ...`` -> (``TIP``, ``Pro tip``, ``Follow ...``); None if no lead."""
    for pattern, kind in _CALLOUTS:
        match = pattern.match(line)
        if match:
            lead = re.sub(r"\s+", " ", match.group("lead")).rstrip(":! ")
            return kind, lead[0].upper() + lead[1:].lower(), match.group("rest").strip()
    return None
