"""The subscribe page on a 375 px phone: its fields fit the screen, nothing side-scrolls.

``width:100%`` plus padding and a border is wider than 100% unless ``box-sizing`` is
``border-box``. The static test runs everywhere; where Chromium is installed
(``apt-get install chromium``) the page is also laid out for real in a 375 px frame.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syndicate.config import load_config
from syndicate.web.app import STYLE
from tests.chromium import measure, needs_chromium
from tests.conftest import Publication
from tests.web_server import http_request, web_server

PROBE = """\
<html><body style="margin:0">
<iframe id="f" src="subscribe.html" style="width:375px;height:2000px;border:0"></iframe>
<script>
document.getElementById("f").onload = function () {
  var d = this.contentDocument;
  var right = Array.from(d.querySelectorAll("input:not([type=hidden]),button"))
    .filter(function (e) { return e.getBoundingClientRect().left >= 0; })
    .map(function (e) { return Math.ceil(e.getBoundingClientRect().right); });
  document.body.setAttribute("data-probe",
    d.documentElement.scrollWidth + " " + d.defaultView.innerWidth + " " + right.join(","));
};
</script></body></html>
"""


def subscribe_page(make_pub: Publication, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SYNDICATE_SECRET", "test-secret-0123456789-abcdefgh")
    config = load_config(make_pub() / "config.toml")
    with web_server(config) as port:
        status, _, page = http_request(port, "GET", "/subscribe")
    assert status == 200
    return page


def test_fields_are_sized_with_their_padding(
    make_pub: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = subscribe_page(make_pub, monkeypatch)
    assert "box-sizing:border-box" in STYLE and STYLE in page
    assert re.search(r"input[^{]*\{[^}]*max-width:100%", STYLE)
    assert 'name="email"' in page and "width:100%" in page


@needs_chromium
def test_no_field_runs_past_a_375px_screen(
    make_pub: Publication, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "subscribe.html").write_text(subscribe_page(make_pub, monkeypatch), "utf-8")
    (tmp_path / "probe.html").write_text(PROBE, encoding="utf-8")
    scroll_width, viewport, edges = measure(tmp_path / "probe.html")
    assert viewport == 375
    assert scroll_width <= 375, "the subscribe page scrolls sideways on a phone"
    assert len(edges) >= 3 and max(edges) <= 375, edges
