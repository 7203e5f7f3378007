"""The Markdown dialect and the sanitiser: what article bodies become in HTML."""

from __future__ import annotations

from syndicate.render import render_html

BASE = "https://news.test/story/"


def test_callout_with_custom_title() -> None:
    html = render_html("> [!WARNING] Mind the gap\n> Step carefully.\n", BASE)
    assert html == (
        '<blockquote class="callout callout-warning">\n'
        '<p class="callout-title"><strong>Mind the gap</strong></p>\n'
        "<p>Step carefully.</p>\n</blockquote>\n"
    )


def test_callout_without_title_uses_the_kind() -> None:
    html = render_html("> [!NOTE]\n> Noted.\n", BASE)
    assert '<p class="callout-title"><strong>Note</strong></p>' in html


def test_plain_block_quote_stays_a_quote() -> None:
    assert (
        render_html("> Just a quote.\n", BASE)
        == "<blockquote>\n<p>Just a quote.</p>\n</blockquote>\n"
    )


def test_faq_block() -> None:
    html = render_html(
        "::: faq\nQ: Who?\nA: Envoys of\nboth sides.\nQ: When?\nA: Soon.\n:::\n", BASE
    )
    assert html == (
        '<dl class="faq">\n<dt><strong>Who?</strong></dt>\n<dd>Envoys of\nboth sides.</dd>\n'
        "<dt><strong>When?</strong></dt>\n<dd>Soon.</dd>\n</dl>\n"
    )


def test_relative_urls_become_absolute() -> None:
    html = render_html("[up](../other/) ![chart](chart.png) [x](#notes)", BASE)
    assert 'href="https://news.test/other/"' in html
    assert 'src="https://news.test/story/chart.png"' in html
    assert 'href="https://news.test/story/#notes"' in html


def test_sanitiser_removes_scripts_handlers_and_javascript_urls() -> None:
    html = render_html(
        '<script>evil()</script><img src="a.png" onerror="evil()">'
        '<a href="javascript:evil()">x</a><p class="callout">y</p>\n',
        BASE,
    )
    assert "evil" not in html
    assert "javascript" not in html
    assert 'class="callout"' not in html  # authors cannot fake our block classes on any tag
