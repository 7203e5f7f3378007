"""An edition as delivery receives it: rendered once, with per-recipient placeholders.

Rendering (Jinja2, MJML) is the edition part's job and runs once per edition; delivery fills
the placeholders for each recipient by plain string substitution. A placeholder is
``SYNDICATE-<marker>-FIELD`` where the marker is a digest of the whole edition: an article
cannot contain the marker of the edition it is in, so article text can never be mistaken for
(or spoof) a placeholder.
"""

from __future__ import annotations

import functools
import html as html_lib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from markupsafe import escape

from ..model import Edition
from ..text.tidy import tidy_text

PLACEHOLDER_FIELDS = ("email", "name", "unsubscribe_url", "view_url")

ReaderKey = tuple[tuple[str, str], ...]
ReaderSlot = tuple[str, str | None]  # (attribute, the literal after ``or``, if any)

# Control characters (CR/LF above all) and Unicode line separators in a reader's attribute
# values become spaces before any template sees them: a value is one line of text.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_READER_SLOTS = 1000


def reader_value(value: str) -> str:
    """An attribute value as the templates get it: control characters as spaces."""
    return _CONTROLS.sub(" ", value)


@dataclass(frozen=True, slots=True)
class ReaderTemplates:
    """An edition whose templates use the reader's own attributes (``{{ reader.city }}``).

    The edition part found this out once per edition, from the templates' source; delivery
    renders one copy per distinct combination of the attributes the templates read (``key``)
    and personalises from it as usual. An edition whose templates never name ``reader`` has
    none of this and keeps the one-render fast path.
    """

    fields: frozenset[str] | None  # the attributes the templates read; None: possibly any
    render: Callable[[Mapping[str, str]], RenderedEdition]
    # Set when every use of ``reader`` is a plain ``{{ reader.x }}`` (``or "literal"``):
    # one slot per attribute, see ``filler``.
    slots: tuple[ReaderSlot, ...] | None = None

    def key(self, attributes: Mapping[str, str]) -> ReaderKey:
        """What of ``attributes`` can change the rendered edition (missing ones read ""),
        with control characters made spaces (``reader_value``)."""
        if self.fields is None:
            return tuple((name, reader_value(value)) for name, value in sorted(attributes.items()))
        return tuple((name, reader_value(attributes.get(name, ""))) for name in sorted(self.fields))

    def filler(self, marker: str) -> ReaderFill | None:
        """The edition rendered once with a placeholder per slot, to fill per reader by
        string substitution (no template, no MJML); None when the templates need a render
        per combination of values.

        It proves itself first: for a few hostile sample readers its copies must equal,
        byte for byte, what rendering with their values gives. Anything the analysis of
        the templates missed (a value that changes the layout) shows up here.
        """
        if self.slots is None or not 0 < len(self.slots) <= MAX_READER_SLOTS:
            return None
        holders = {
            name: reader_placeholder(marker, index) for index, (name, _) in enumerate(self.slots)
        }
        fill = ReaderFill(self.render(holders), self.slots)
        for sample in sample_readers(self.slots):
            made = fill.fill(sample)
            slow = self.render(dict(self.key(sample)))
            if (made.html, made.text) != (slow.html, slow.text):
                return None
        return fill


@dataclass(frozen=True, slots=True)
class ReaderFill:
    """An edition rendered with a placeholder for each reader attribute: each reader's copy
    is made by substitution, HTML-escaped (as Jinja's autoescape does) in the HTML and as is
    in the text, which is then tidied again (``tidy_text``: a value may end a line or leave
    it empty). Never in headers: the subject does not see ``reader``."""

    rendered: RenderedEdition
    slots: tuple[ReaderSlot, ...]

    def values(self, attributes: Mapping[str, str]) -> list[str]:
        """Each slot's value for a reader: the attribute, or the slot's fallback if empty."""
        found = [reader_value(attributes.get(name, "")) for name, _ in self.slots]
        return [
            value or (fallback or "")
            for value, (_, fallback) in zip(found, self.slots, strict=True)
        ]

    def html_values(self, values: list[str]) -> list[str]:
        """Slot values HTML-escaped, byte for byte as Jinja's autoescape writes them."""
        return [str(escape(value)) for value in values]

    def fill_html(self, source: str, values: list[str]) -> str:
        """``source`` with each reader placeholder replaced by its value, HTML-escaped."""
        escaped = self.html_values(values)
        return self._pattern().sub(lambda m: escaped[int(m.group(1))], source)

    def fill_text(self, source: str, values: list[str]) -> str:
        """``source`` (plain text) with each reader placeholder replaced, then tidied."""
        return tidy_text(self._pattern().sub(lambda m: values[int(m.group(1))], source))

    def fill(self, attributes: Mapping[str, str]) -> RenderedEdition:
        """One reader's copy, as rendering with ``attributes`` makes it."""
        values = self.values(attributes)
        return replace(
            self.rendered,
            html=self.fill_html(self.rendered.html, values),
            text=self.fill_text(self.rendered.text, values),
            per_reader=None,
        )

    def _pattern(self) -> re.Pattern[str]:
        return _reader_pattern(self.rendered.marker)


def reader_placeholder(marker: str, index: int) -> str:
    """The text standing for reader slot ``index`` (fixed width: none is another's prefix)."""
    return f"SYNDICATE-{marker}-READER-{index:04d}"


@functools.lru_cache(maxsize=8)
def _reader_pattern(marker: str) -> re.Pattern[str]:
    return re.compile(rf"SYNDICATE-{marker}-READER-(\d{{4}})")


def sample_readers(slots: tuple[ReaderSlot, ...]) -> list[dict[str, str]]:
    """Readers whose values stress escaping, line breaks, tidying and width."""
    hostile = "<script>alert(\"x\")</script> & 'q' \r\nBcc: x@example.net Ünïcødé 😀 "
    return [
        {name: hostile + "long " * 30 for name, _ in slots},
        {name: " \t" for name, _ in slots},
        {},
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedEdition:
    """An edition rendered once: subject, HTML and text with per-recipient placeholders."""

    edition: Edition
    subject: str
    html: str
    text: str
    marker: str
    per_reader: ReaderTemplates | None = None  # set when the templates use ``reader``

    def placeholder(self, field: str) -> str:
        """The placeholder string standing for ``field`` (one of PLACEHOLDER_FIELDS)."""
        return placeholder(self.marker, field)

    def fill_html(self, values: Mapping[str, str]) -> str:
        """The HTML with every placeholder replaced by its HTML-escaped value."""
        return self._fill(self.html, values, escape=True)

    def fill_text(self, values: Mapping[str, str]) -> str:
        """The plain text with every placeholder replaced by its value, verbatim."""
        return self._fill(self.text, values, escape=False)

    def _fill(self, source: str, values: Mapping[str, str], *, escape: bool) -> str:
        missing = [field for field in PLACEHOLDER_FIELDS if field not in values]
        if missing:
            raise ValueError(f"no value for placeholder(s): {', '.join(missing)}")
        names = "|".join(_token(field) for field in PLACEHOLDER_FIELDS)
        pattern = re.compile(rf"SYNDICATE-{self.marker}-({names})")

        def value(match: re.Match[str]) -> str:
            text = values[match.group(1).lower().replace("-", "_")]
            return html_lib.escape(text, quote=True) if escape else text

        return pattern.sub(value, source)


def placeholder(marker: str, field: str) -> str:
    """The text standing for ``field`` in an edition rendered with ``marker``."""
    return f"SYNDICATE-{marker}-{_token(field)}"


def _token(field: str) -> str:
    return field.upper().replace("_", "-")
