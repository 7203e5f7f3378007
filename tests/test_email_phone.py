"""The edition on a 375 px phone: images inside article bodies shrink, nothing side-scrolls.

A table cell grows to fit an image's ``width`` attribute unless the image's CSS width is a
percentage, so one ordinary Markdown image in a full-content edition used to widen the whole
message to 600 px on a phone. The static test runs everywhere; where Chromium is installed
(``apt-get install chromium``) the edition is also laid out for real in a 375 px frame.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import html as lxml_html

from syndicate.config import load_config
from syndicate.edition.render import render_edition
from syndicate.edition.state import open_state, plan_edition
from tests.chromium import measure, needs_chromium
from tests.conftest import Publication, article
from tests.test_newsletter import NOW, VALUES

BODY = """\
A paragraph before the pictures.

![A chart of bus delays](https://news.test/img/chart.png)

<img src="https://news.test/img/wide.jpg" alt="A wide photo" width="1600" height="800">

<img src="https://news.test/img/icon.png" alt="A small icon" width="100" height="50">
"""


def edition_html(make_pub: Publication) -> str:
    root = make_pub(
        {"x.md": article("Pictures", body=BODY, image="/img/hero.jpg", image_alt="Hero")},
        email="full_content = true",
    )
    config = load_config(root / "config.toml")
    edition = plan_edition(config, open_state(config), now=NOW)
    assert edition is not None
    return render_edition(config, edition).fill_html(VALUES)


def test_body_images_are_fluid_but_never_upscaled(make_pub: Publication) -> None:
    html = edition_html(make_pub)
    doc = lxml_html.document_fromstring(html)
    body_images = doc.xpath('//div[@class="syn-article-body"]//img')
    assert [img.get("alt") for img in body_images] == [
        "A chart of bus delays",
        "A wide photo",
        "A small icon",
    ]
    for img in body_images:
        style = img.get("style", "")
        assert re.search(r"(?<![-\w])width:100%", style), style
        assert f"max-width:{img.get('width')}px" in style, style
    assert [img.get("width") for img in body_images] == ["552", "552", "100"]
    # No stylesheet rule may stretch a small image to the column again.
    assert not re.search(r"syn-article-body img \{[^}]*max-width", html)


LAYOUT_PROBE = """\
<html><body style="margin:0">
<iframe id="f" src="edition.html" style="width:375px;height:4000px;border:0"></iframe>
<script>
document.getElementById("f").onload = function () {
  var d = this.contentDocument;
  var images = Array.from(d.images).map(function (i) {
    return Math.round(i.getBoundingClientRect().width);
  });
  document.body.setAttribute("data-probe",
    d.documentElement.scrollWidth + " " + d.defaultView.innerWidth + " " + images.join(","));
};
</script></body></html>
"""


@needs_chromium
def test_no_horizontal_scrolling_in_a_375px_browser(make_pub: Publication, tmp_path: Path) -> None:
    (tmp_path / "edition.html").write_text(edition_html(make_pub), encoding="utf-8")
    (tmp_path / "probe.html").write_text(LAYOUT_PROBE, encoding="utf-8")
    scroll_width, viewport, widths = measure(tmp_path / "probe.html")
    assert viewport == 375
    assert scroll_width <= 375, "the edition scrolls sideways on a phone"
    assert widths and max(widths) <= 375 - 2 * 24
    assert 100 in widths, "a 100 px icon keeps its own size"
