"""Display width and line wrapping for text read in terminals, mail clients and phones.

``textwrap`` counts code points, so a line of Japanese wraps at twice the intended width and an
accented letter written as ``e`` + combining accent counts as two columns. Here widths come from
wcwidth, breaks never split a character from its combining marks (or an emoji ZWJ sequence),
CJK text without spaces may break between ideographs (but not before closing punctuation), and
URLs are never broken: a URL wider than the line stands alone on its own line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

# Joins a link's text to its ``[n]`` marker without allowing a break; becomes a space at the end.
GLUE = "\ue000"

URL = re.compile(r"^[\[(<\"'«“‘]*(?:(?:https?|ftp)://|mailto:|www\.)\S+$", re.IGNORECASE)  # noqa: RUF001
_ZWJ = "\u200d"
# Kinsoku shori: no line may start with these (closing brackets, small kana, full stops) ...
_NO_BREAK_BEFORE = frozenset(
    "、。，．・：；？！ー）」』】〕〉》〙〗〟’”｝〜゛゜ゝゞ々ぁぃぅぇぉっゃゅょゎゕゖ"  # noqa: RUF001 (the full-width forms are the point)
    "ァィゥェォッャュョヮヵヶ%),.:;?!]}…‥"
)
# ... and none may end with these (opening brackets).
_NO_BREAK_AFTER = frozenset("（「『【〔〈《〘〖〝‘“｛([{")  # noqa: RUF001
_HANGUL = "[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]"
# Scripts written without spaces (Han, kana, CJK punctuation, full-width forms): only words
# holding one of these are split between characters; every other word is one piece.
_CJK = (
    "[\u2e80-\u303f\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\U00020000-\U0003fffd]"
)
# Spaces where a line may break: every Unicode space except the no-break ones (U+00A0, U+2007,
# U+202F), which writers use on purpose ("58 °C", "§ 5").
SPACES = re.compile("[ \t\n\r\f\v\u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]+")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@cache
def _pattern(source: str) -> re.Pattern[str]:
    """``_HANGUL`` and ``_CJK`` compiled on first use: compiling their wide ranges walks
    every code point in them (~0.2 M Python lines, more than the rest of a no-op build's
    imports of this part), and most runs wrap no non-ASCII word."""
    return re.compile(source)


@cache
def _wcswidth() -> Callable[[str], int]:
    """wcwidth's ``wcswidth``, imported once, on first use."""
    # lazy: wcwidth (~25 ms: its Unicode tables) loads with the first text measured, not with
    # `syndicate --help` or a no-op build
    from wcwidth import wcswidth

    return wcswidth


def clean_controls(text: str) -> str:
    """Drop control characters (other than newline and tab), which have no display width."""
    return _CONTROL.sub("", text)


def graphemes(text: str) -> Iterator[str]:
    """User-perceived characters: a base character with its combining marks, modifiers and ZWJ
    continuations, or a pair of regional indicators (a flag)."""
    cluster = ""
    regional = 0
    for char in text:
        code = ord(char)
        joins = bool(cluster) and (
            unicodedata.category(char) in ("Mn", "Me", "Mc")
            or char == _ZWJ
            or cluster.endswith(_ZWJ)
            or 0xFE00 <= code <= 0xFE0F  # variation selectors
            or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
            or 0xE0020 <= code <= 0xE007F  # emoji tag sequences
            or (0x1F1E6 <= code <= 0x1F1FF and regional % 2 == 1)
        )
        if not joins and cluster:
            yield cluster
            cluster = ""
            regional = 0
        if 0x1F1E6 <= code <= 0x1F1FF:
            regional += 1
        cluster += char
    if cluster:
        yield cluster


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal; characters wcwidth cannot measure count as 0."""
    wcswidth = _wcswidth()
    width = wcswidth(text)
    if width >= 0:
        return width
    return sum(max(0, wcswidth(cluster)) for cluster in graphemes(text))


def _breaks_around(cluster: str) -> bool:
    """Wide CJK letters and punctuation allow a break on either side; wide emoji do not, nor
    does Hangul, which Korean breaks at spaces like Latin text."""
    char = cluster[0]
    if unicodedata.east_asian_width(char) not in ("W", "F") or _pattern(_HANGUL).match(char):
        return False
    return unicodedata.category(char) not in ("So", "Sk")


@dataclass(slots=True)
class _Piece:
    """An unbreakable run of text and whether a space separates it from the previous piece."""

    text: str
    width: int
    spaced: bool


def _words(text: str, room: int) -> list[str]:
    """Words at spaces; a glued link marker (``text[GLUE][1]``) too wide for any line comes
    apart from its text, so that a URL stays alone on its line."""
    words: list[str] = []
    for word in SPACES.split(text):
        if not word:
            continue
        if GLUE in word and text_width(word) > room:
            words.extend(part for part in word.split(GLUE) if part)
        else:
            words.append(word)
    return words


def _pieces(text: str, room: int) -> list[_Piece]:
    """Split text into pieces at spaces, and between CJK characters where a break is allowed."""
    pieces: list[_Piece] = []
    for word in _words(text, room):
        if word.isascii() or not _pattern(_CJK).search(word) or URL.match(word):
            pieces.append(_Piece(word, text_width(word), True))
            continue
        spaced = True
        current = ""
        previous = ""
        for cluster in graphemes(word):
            breakable = current and (
                (_breaks_around(cluster) or _breaks_around(previous))
                and cluster[0] not in _NO_BREAK_BEFORE
                and previous[-1] not in _NO_BREAK_AFTER
            )
            if breakable:
                pieces.append(_Piece(current, text_width(current), spaced))
                spaced = False
                current = ""
            current += cluster
            previous = cluster
        if current:
            pieces.append(_Piece(current, text_width(current), spaced))
    return pieces


def _split_to_fit(piece: str, room: int) -> tuple[str, str]:
    """The longest grapheme-aligned head of ``piece`` at most ``room`` wide, and the rest."""
    wcswidth = _wcswidth()
    head = ""
    used = 0
    # Lazily: the caller splits a long word line by line, and splitting all of the rest into
    # graphemes for every line made a 100,000-character word take minutes.
    for cluster in graphemes(piece):
        size = max(0, wcswidth(cluster))
        if used + size > room:
            return head, piece[len(head) :]
        head += cluster
        used += size
    return head, ""


def wrap(
    text: str, width: int, *, initial_indent: str = "", subsequent_indent: str = ""
) -> list[str]:
    """Wrap text to ``width`` display columns on word boundaries (CJK: between characters).

    Runs of whitespace fold to one space. A word wider than a line is broken between graphemes,
    except a URL, which is never broken: it goes alone on its own line, however wide.
    Lines carry no trailing spaces. Empty text gives no lines.
    """
    lines: list[str] = []
    indent = initial_indent
    line = ""
    used = text_width(indent)

    def flush() -> None:
        nonlocal indent, line, used
        lines.append((indent + line).replace(GLUE, " ").rstrip())
        indent = subsequent_indent
        line = ""
        used = text_width(indent)

    for piece in _pieces(text, width - text_width(subsequent_indent)):
        gap = 1 if (piece.spaced and line) else 0
        if used + gap + piece.width <= width:
            line += " " * gap + piece.text
            used += gap + piece.width
            continue
        if line and (piece.width <= width - text_width(subsequent_indent) or URL.match(piece.text)):
            flush()
        if URL.match(piece.text) or used + piece.width <= width:
            line += piece.text
            used += piece.width
            continue
        # A word wider than any line: fill what is left of this line, then continue below.
        rest = piece.text
        if line and width - used > gap:
            line += " " * gap
            used += gap
        elif line:
            flush()
        while rest:
            head, rest = _split_to_fit(rest, width - used)
            if not head and line:
                flush()  # a wide character does not fit the last column: next line
                continue
            if not head:
                # Not even one character fits after the indent: take one anyway.
                head = next(graphemes(rest))
                rest = rest[len(head) :]
            line += head
            used += text_width(head)
            if rest:
                flush()
    if line:
        flush()
    return lines
