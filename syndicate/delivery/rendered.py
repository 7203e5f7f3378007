"""An edition as delivery receives it: rendered once, with per-recipient placeholders.

Rendering (Jinja2, MJML) is the edition part's job and runs once per edition; delivery fills
the placeholders for each recipient by plain string substitution. A placeholder is
``SYNDICATE-<marker>-FIELD`` where the marker is a digest of the whole edition: an article
cannot contain the marker of the edition it is in, so article text can never be mistaken for
(or spoof) a placeholder.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..model import Edition

PLACEHOLDER_FIELDS = ("email", "name", "unsubscribe_url", "view_url")

ReaderKey = tuple[tuple[str, str], ...]


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

    def key(self, attributes: Mapping[str, str]) -> ReaderKey:
        """What of ``attributes`` can change the rendered edition (missing ones read "")."""
        if self.fields is None:
            return tuple(sorted(attributes.items()))
        return tuple((name, attributes.get(name, "")) for name in sorted(self.fields))


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
