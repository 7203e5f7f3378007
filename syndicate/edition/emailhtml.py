"""Sanitized article HTML -> markup that mail clients render and MJML accepts.

Mail clients ignore most ``<style>`` blocks and external CSS, so the article stylesheet
(``templates/email.css``) is inlined with css-inline. MJML (mjml-python) parses its input as
strict XML, so the fragment is re-serialised by lxml as well-formed XHTML. Images are clamped
to the content column with explicit width/alt, because Outlook ignores CSS ``max-width`` and
screen readers read out a file name when ``alt`` is missing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..model import Image

if TYPE_CHECKING:
    from lxml import etree

EMAIL_WIDTH = 600
# The text column: the 600 px body minus 24 px padding either side (see email.mjml.j2).
CONTENT_WIDTH = 552
# width:100% with a max-width in pixels: the image shrinks with a phone's screen but never
# grows past its own size. (max-width:100% alone is not enough: a table cell grows to fit
# its image's width attribute, so a 552 px image pushed a 375 px screen into side-scrolling.)
IMAGE_STYLE = "display:block;width:100%;max-width:{width}px;height:auto;border:0;"
_NUMBER = re.compile(r"^\s*(\d+)(?:px)?\s*$")
# Tags mail clients mishandle: the wrapper goes, its children stay. (libxml2 does not know
# <source> is void and nests the fallback <img> inside it, so it is unwrapped too.)
_UNWRAP = ("picture", "source")


def email_fragment(html: str, *, css: str = "", lang: str = "") -> str:
    """An article body as one XHTML ``<div>`` with inline styles, safe inside ``mj-text``.

    ``html`` must already be sanitized (``render.sanitize``): nothing here removes scripts.
    """
    if not html.strip():
        return ""
    # lazy: css-inline and lxml load with the first edition rendered (a few articles each),
    # not with `syndicate --help`, a no-op build or the commands that send nothing
    import css_inline
    from lxml import etree
    from lxml import html as lxml_html

    if css:
        html = css_inline.inline_fragment(html, css)
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    root.set("class", "syn-article-body")
    if lang:
        root.set("lang", lang)
    for element in list(root.iter(*_UNWRAP)):
        element.drop_tag()
    for img in root.iter("img"):
        _fit_image(img)
    for table in root.iter("table"):
        _append_style(table, "width:100%;max-width:100%;")
        table.attrib.pop("width", None)
    for element in root.iter():
        for name in ("width", "height"):
            if element.tag != "img" and _too_wide(element.get(name)):
                del element.attrib[name]
    return str(etree.tostring(root, method="xml", encoding="unicode"))


def _fit_image(img: etree._Element) -> None:
    """alt always present; width at most the column, height scaled with it or left to CSS."""
    if img.get("alt") is None:
        img.set("alt", "")
    width = _pixels(img.get("width"))
    height = _pixels(img.get("height"))
    shown_width, shown_height = fit(width, height)
    img.set("width", str(shown_width))
    if shown_height is None:
        img.attrib.pop("height", None)
    else:
        img.set("height", str(shown_height))
    style = img.get("style", "")
    # Drop widths from inlined CSS: the attribute and IMAGE_STYLE decide.
    style = re.sub(r"(?<![-\w])(width|height)\s*:[^;]*;?", "", style)
    img.set("style", IMAGE_STYLE.format(width=shown_width) + style)


def fit(
    width: int | None, height: int | None, limit: int = CONTENT_WIDTH
) -> tuple[int, int | None]:
    """Display size of an image in the column: unknown or too wide -> ``limit``, ratio kept.

    An image of unknown size is shown at the column width (Outlook needs a number; photos
    are almost always wider than the column), with its height left to ``height:auto``.
    """
    if width is None or width > limit:
        if width and height:
            return limit, round(height * limit / width)
        return limit, None
    return width, height


def hero_size(image: Image) -> tuple[int, int | None]:
    """Display size of an article's lead image (front matter may give width and height)."""
    return fit(image.width, image.height)


def _pixels(value: str | None) -> int | None:
    if value is None:
        return None
    match = _NUMBER.match(value)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def _too_wide(value: str | None) -> bool:
    pixels = _pixels(value)
    return pixels is not None and pixels > CONTENT_WIDTH


def _append_style(element: etree._Element, style: str) -> None:
    current = element.get("style", "").strip()
    if current and not current.endswith(";"):
        current += ";"
    element.set("style", current + style)
