"""Old sites' permalinks: the address Hugo or Jekyll gave a post, from its settings.

A migrated article keeps its old address (``url``) and feed id, so the expansion here follows
each tool's own rules: Hugo's ``[permalinks]`` tokens (``:year``, ``:slug``, ``:title``,
``:filename``, ``:section`` ...), Jekyll's ``permalink`` styles (``date``, ``pretty``,
``ordinal``, ``none``) and tokens (``:categories``, ``:year``, ``:title``, ``:output_ext`` ...).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..content.slugs import slugify

JEKYLL_STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}


def hugo_pattern(config: dict[str, Any], section: str) -> str:
    """The ``[permalinks]`` pattern for a section (also under ``page``), or ``""``."""
    permalinks = config.get("permalinks")
    if not isinstance(permalinks, dict):
        return ""
    nested = permalinks.get("page")
    pages: dict[str, Any] = nested if isinstance(nested, dict) else permalinks
    value = pages.get(section) or pages.get("/" + section)
    return value if isinstance(value, str) else ""


def hugo_expand(
    pattern: str,
    date: datetime | None,
    slug: str,
    filename: str,
    section: str,
    parts: tuple[str, ...],
    title: str,
) -> str:
    """A Hugo permalink pattern filled in for one page (a path starting with ``/``)."""
    when = date or datetime(1970, 1, 1, tzinfo=UTC)
    values = {
        ":year": f"{when.year:04d}",
        ":month": f"{when.month:02d}",
        ":monthname": when.strftime("%B").lower(),
        ":day": f"{when.day:02d}",
        ":weekday": str(when.isoweekday() % 7),
        ":yearday": str(when.timetuple().tm_yday),
        ":section": section,
        ":sections": "/".join(parts[:-1]),
        ":title": slugify(title) or slug,
        ":slugorfilename": slug,
        ":slugorcontentbasename": slug,
        ":slug": slug,
        ":filename": filename,
        ":contentbasename": filename,
    }
    tokens = sorted(values, key=len, reverse=True)
    result = re.sub("|".join(re.escape(token) for token in tokens), lambda m: values[m[0]], pattern)
    return "/" + re.sub(r"/{2,}", "/", result).lstrip("/")


def jekyll_pattern(config: dict[str, Any]) -> str:
    """The site's ``permalink`` setting as a pattern (a style name expanded)."""
    style = config.get("permalink") or "date"
    return JEKYLL_STYLES.get(str(style), str(style))


def jekyll_expand(pattern: str, date: datetime | None, slug: str, categories: list[str]) -> str:
    """A Jekyll permalink pattern filled in for one post; categories lower-cased."""
    when = date or datetime(1970, 1, 1, tzinfo=UTC)
    cats = "/".join(quote(c.lower()) for c in dict.fromkeys(categories))
    values = {
        ":categories": cats,
        ":year": f"{when.year:04d}",
        ":short_year": f"{when.year % 100:02d}",
        ":month": f"{when.month:02d}",
        ":i_month": str(when.month),
        ":day": f"{when.day:02d}",
        ":i_day": str(when.day),
        ":y_day": f"{when.timetuple().tm_yday:03d}",
        ":hour": f"{when.hour:02d}",
        ":minute": f"{when.minute:02d}",
        ":second": f"{when.second:02d}",
        ":title": slug,
        ":slug": slug,
        ":output_ext": ".html",
    }
    tokens = sorted(values, key=len, reverse=True)
    result = re.sub("|".join(re.escape(token) for token in tokens), lambda m: values[m[0]], pattern)
    return "/" + re.sub(r"/{2,}", "/", result).lstrip("/")
