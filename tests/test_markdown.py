"""The Markdown dialect and the sanitiser: what article bodies become in HTML."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from syndicate.content.render import render_html
from tests.conftest import REPO

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


# Lines built from every construct whose rule is switched off when its trigger is missing.
_PIECES = st.sampled_from(
    [
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "~~gone~~ and ~one",
        "```python\nx = 1\n```",
        "~~~\nfenced\n~~~",
        "`code` and ``two``",
        "&amp; &copy; & AT&T",
        "\\*not emphasis\\* and a hard\\\nbreak",
        "    indented code",
        "\tcode after a tab",
        ">     code in a quote",
        "- item\n\n      code in a list",
        "<div>raw html</div>",
        "an <em>inline</em> tag and <https://example.org/a> autolink",
        "plain *emphasis* and [a link](https://example.org/) ![img](/a.png)",
        "> [!TIP] Title\n> A callout.",
        "::: faq\nQ: Why?\nA: Because.\n:::",
        "## Heading",
        "1. one\n2. two",
        "[ref]: https://example.org/r\n\nSee [the ref][ref] and [multi\nline]",
        "[multi\nline]: /m",
        "Setext\n======",
        "Setext two\n---",
        "> Quoted setext\n> ---",
        "- item\n  Heading in a list\n  ===",
        "Windows line\r\n---\r\n",
        "Old Mac line\r---\rnext\r[r]: /r\r",
        "a line ending in a dash -\nand = sign =",
        "start-up déjà-vu: Q: 100% $5 a+b=c #tag @name {x} ^up > not a quote",
        "[a [nested] label - with: colons](/x) and [b]: not a reference [c]",
        "snake_case_word -*starred*- __strong__-text ]stray[ brackets] !not-an-image",
        "trailing two spaces  \nhard break and a trailing dash-\nnext",
        "***\n\n* * *\n\n_ _ _\n\n-\t-  -\n\n- \t- -",
        "Underline with blanks\n---  \t\n\ntext\n=== ",
        "**bold** and ***both*** and __strong__ _a_",
        "",
    ]
)


@given(st.lists(_PIECES, max_size=6), st.sampled_from(["\n", "\n\n", " "]))
def test_switching_off_rules_without_their_triggers_changes_no_token(
    pieces: list[str], glue: str
) -> None:
    """``parse`` skips rules whose trigger characters a text lacks and stops its text rule only
    where an inline rule can start; the tokens are those of the full parser."""
    from syndicate.content.markdown import parse, parser

    text = glue.join(pieces)
    assert [t.as_dict() for t in parse(text)] == [t.as_dict() for t in parser().parse(text)]


# Short texts of the characters that matter to the block and inline rules, in any order.
_MARKUP_SOUP = st.text(
    alphabet=st.sampled_from(list("ab -*_=#>\n\t\r\x00[]()!<&`~\\:|19.")), max_size=60
)


@given(_MARKUP_SOUP)
def test_any_mix_of_markup_characters_parses_as_the_full_parser_does(text: str) -> None:
    from syndicate.content.markdown import parse, parser

    assert [t.as_dict() for t in parse(text)] == [t.as_dict() for t in parser().parse(text)]


def test_every_demo_article_parses_the_same_with_rules_switched_off() -> None:
    from syndicate.content.markdown import parse, parser

    for path in sorted((REPO / "content").glob("*.md")):
        body = path.read_text(encoding="utf-8").split("+++", 2)[-1]
        assert [t.as_dict() for t in parse(body)] == [t.as_dict() for t in parser().parse(body)]


@given(
    st.text(
        alphabet=st.one_of(
            st.characters(exclude_categories=()),  # surrogates included
            st.sampled_from(["\x00", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800", "한"]),
        )
    )
)
def test_xml_illegal_characters_are_stripped_exactly_as_the_regex_would(text: str) -> None:
    """The byte-level check that skips the regex never skips a character it would remove."""
    from syndicate.content.render import XML_ILLEGAL, strip_xml_illegal

    for sample in (text, "long enough for the byte-level check " * 16 + text):
        assert strip_xml_illegal(sample) == re.sub(XML_ILLEGAL, "", sample)


@given(
    st.text(
        alphabet=st.one_of(
            st.characters(exclude_categories=("Cs",)),
            st.sampled_from(["\x7f", "\x85", "\x9f", "\xa0", "\ufdd0", "\ufdef", "\uff0c", "é"]),
        )
    )
)
def test_html_invalid_code_points_are_stripped_exactly_as_the_regex_would(text: str) -> None:
    """The one-byte scans that skip the regex never skip a code point it would remove."""
    from syndicate.content.render import HTML_INVALID, strip_html_invalid

    for sample in (text, "é " + text):
        assert strip_html_invalid(sample) == HTML_INVALID.sub("", sample)


def _plain_url_strategy() -> st.SearchStrategy[str]:
    from syndicate.content.markdown import _PLAIN_URL

    return st.from_regex(_PLAIN_URL, fullmatch=True)


@given(st.one_of(_plain_url_strategy(), st.text(max_size=40)))
def test_plain_urls_skip_only_what_markdown_it_would_leave_unchanged(url: str) -> None:
    """The parser keeps a plain URL as it is; markdown-it's own normalisation would too."""
    from markdown_it import MarkdownIt

    from syndicate.content.markdown import _markdown_it

    ours, theirs = _markdown_it().plain_links_class("commonmark"), MarkdownIt("commonmark")
    assert ours.normalizeLink(url) == theirs.normalizeLink(url)
    assert ours.normalizeLinkText(url) == theirs.normalizeLinkText(url)
    assert ours.validateLink(url) == theirs.validateLink(url)


def test_table_alignment_survives_the_sanitizer() -> None:
    html = render_html("| a | b | c |\n|:--|--:|:-:|\n| 1 | 2 | 3 |\n", "https://x.test/")
    assert '<th style="text-align:left">a</th>' in html
    assert '<th style="text-align:right">b</th>' in html
    assert '<td style="text-align:center">3</td>' in html


def test_only_text_align_survives_on_table_cells() -> None:
    html = render_html(
        '<table><tr><td style="text-align:right;background:url(x)">1</td></tr></table>\n\n'
        '<p style="text-align:right">p</p>',
        "https://x.test/",
    )
    assert '<td style="text-align:right">1</td>' in html
    assert "<p>p</p>" in html and "url(" not in html


def test_struck_text_in_a_summary_reads_as_struck() -> None:
    from syndicate.content.markdown import parse
    from syndicate.content.render import first_paragraph_text

    assert first_paragraph_text(parse("Founded ~~2019~~ 2018.")) == "Founded [deleted: 2019] 2018."


def test_table_alignment_reaches_the_email_html() -> None:
    from syndicate.edition.emailhtml import email_fragment

    css = (REPO / "templates" / "email.css").read_text(encoding="utf-8")
    html = email_fragment(
        render_html("| a | b |\n|--|--:|\n| 1 | 2 |\n", "https://x.test/"), css=css
    )
    # css-inline puts the stylesheet's "text-align: left" for td first; the cell's own wins.
    assert re.search(r'<td style="[^"]*text-align: right">2</td>', html), html


URL_SHAPES = [
    "/x",
    "x.jpg",
    "../up/",
    "//cdn.test/a.png",
    "?page=2",
    "#part",
    "https://elsewhere.test/a b",
    "https:foo",
    "/\\evil",
    " /x",
    "javascript:alert(1)",
    "mailto:desk@x.test",
]
ATTRIBUTE_SHAPES = ['<a href="{}">a</a>', '<img src="{}" alt="i">', "<a HREF={}>b</a>"]
ATTRIBUTE_SHAPES += ['<picture><source srcset="{}"><img src="/i.png"></picture>']
ATTRIBUTE_SHAPES += ['<p>write href="{}" in text</p>']


@given(
    st.lists(st.tuples(st.sampled_from(ATTRIBUTE_SHAPES), st.sampled_from(URL_SHAPES)), max_size=4),
    st.sampled_from(
        [
            "https://news.test/posts/one/",
            "https://news.test/a/b.html?x=1#y",
            "http://news.test:8080/p/",
            "https://news.test/",
        ]
    ),
)
def test_cached_cleaners_resolve_links_as_the_articles_own_url_does(
    parts: list[tuple[str, str]], base: str
) -> None:
    # sanitize() reuses one nh3 cleaner per site origin when every link resolves the same
    # against it: the result must be what a cleaner made for the article's own URL gives.
    import nh3

    from syndicate.content.render import _options, sanitize

    html = "".join(shape.format(url) for shape, url in parts)
    assert sanitize(html, base) == nh3.clean(html, **_options(base))
