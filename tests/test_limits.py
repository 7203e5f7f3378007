"""Limits on untrusted input (README "Limits"): refused with a pointed error, never a traceback,
a runaway output or work that grows faster than the input."""

from __future__ import annotations

import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndicate.content.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_TAGS
from syndicate.content.render import render_html
from syndicate.ingest.markdown import parse_markdown
from syndicate.ingest.text import parse_text
from syndicate.text.plaintext import render_markdown_text
from syndicate.text.width import wrap
from tests.conftest import Publication, Run, article

# Generous bounds: the point is "linear, not quadratic" (these took 5 s to minutes before).
FAST = 2.0


def _fails_with(run: Run, root: Path, command: str, *expected: str) -> str:
    result = run(root, command)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.stderr, result.stderr
    return result.stderr


@pytest.mark.parametrize("command", ["validate", "build"])
def test_too_many_tags_is_an_error_naming_the_line(
    make_pub: Publication, run: Run, command: str
) -> None:
    tags = [f"t{i}" for i in range(MAX_TAGS + 1)]
    root = make_pub({"many.md": article(tags=tags), "ok.md": article(title="Fine")})
    _fails_with(run, root, command, "content/many.md:4: tags: more than 100 entries")
    assert not (root / "feeds" / "tags").exists()  # nothing written, let alone 9 GB


def test_limits_of_title_tag_and_section(make_pub: Publication, run: Run) -> None:
    root = make_pub(
        {
            "long.md": article(title="T" * 501, tags=["x" * 81], section="s" * 81),
            "ok.md": article(title="T" * 500, tags=["x" * 80], section="s" * 80),
        }
    )
    stderr = _fails_with(
        run,
        root,
        "validate",
        "content/long.md:2: title: longer than 500 characters",
        "content/long.md:4: tags: a tag is longer than 80 characters",
        "content/long.md:5: section: longer than 80 characters",
    )
    assert "ok.md" not in stderr
    assert "T" * 100 not in stderr  # the value is not echoed in full


DEEP_TOML = "+++\ntitle = 'Deep'\ndate = 2026-11-02\ntags = " + "[" * 5000 + "]" * 5000 + "\n+++\n"
DEEP_YAML = "---\ntitle: Deep\ndate: 2026-11-02\ntags: " + "[" * 10_000 + "\n---\n"
DEEP_BLOCK = "---\ntitle: Deep\ndate: 2026-11-02\ntags:\n  " + "- " * 3000 + "x\n---\n"
DEEP_TABLE = "+++\ntitle = 'Deep'\ndate = 2026-11-02\nimage = " + "{a=" * 3000 + "1" + "}" * 3000
DEEP_TABLE += "\n+++\n"


@pytest.mark.parametrize(
    ("text", "line"), [(DEEP_TOML, 4), (DEEP_YAML, 4), (DEEP_BLOCK, 5), (DEEP_TABLE, 4)]
)
@pytest.mark.parametrize("command", ["validate", "build"])
def test_deep_nesting_is_an_error_not_a_recursion_error(
    make_pub: Publication, run: Run, text: str, line: int, command: str
) -> None:
    root = make_pub({"deep.md": text, "ok.md": article()})
    expected = f"content/deep.md:{line}: front matter: nested more than {MAX_DEPTH} levels"
    _fails_with(run, root, command, expected)


def test_nesting_up_to_the_limit_and_brackets_in_strings_are_fine(
    make_pub: Publication, run: Run
) -> None:
    brackets = "[[{{" * 20
    root = make_pub(
        {
            "a.md": article(title=brackets, tags=["x"], summary=brackets),
            "b.md": "---\ntitle: '" + brackets + "'\ndate: 2026-11-02\ntags: [a, b]\n---\nText\n",
        }
    )
    result = run(root, "validate")
    assert result.exit_code == 0, result.output


def test_import_of_deep_front_matter_fails_alone(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    deep = tmp_path / "deep.md"
    deep.write_text(DEEP_YAML + "Body\n", encoding="utf-8")
    good = tmp_path / "good.md"
    good.write_text("# A good story\n\nIt imports.\n", encoding="utf-8")
    result = run(root, "import", str(deep), str(good))
    assert result.exit_code == 1, result.output
    assert "nested more than" in result.stderr
    assert [path.name for path in (root / "content").glob("*.md")] == ["a-good-story.md"]


@pytest.mark.parametrize("command", ["validate", "build"])
def test_oversized_file_is_refused_unread(make_pub: Publication, run: Run, command: str) -> None:
    big = article(body="word " * (MAX_FILE_BYTES // 5))
    root = make_pub({"big.md": big, "ok.md": article()})
    _fails_with(
        run, root, command, "content/big.md: file is 1,000,0", "over the limit of 1,000,000"
    )


ADVERSARIAL = {
    "open brackets": "[" * 100_000,
    "unclosed links": "[a](" * 25_000,
    "images": "![" * 50_000,
    "tabs": "\t" * 100_000 + "x",
    "one long word": "Q:" * 50_000,
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_import_is_linear_on_adversarial_text(text: str) -> None:
    zone = ZoneInfo("UTC")
    start = time.perf_counter()
    parse_markdown("# Title\n\n" + text + "\n", zone)
    parse_text("Title\n\n" + text + "\n\nMore text here.\n", zone)
    assert time.perf_counter() - start < FAST


def test_a_long_faq_answer_renders_in_linear_time() -> None:
    """An FAQ answer of 200,000 lines (each line once rebuilt the whole answer: ~2 s for the
    lines alone, ~11 s at the 1 MB file limit) renders well within the bound."""
    body = "::: faq\nQ: q\nA: a\n" + "word\n" * 200_000 + ":::\n"
    start = time.perf_counter()
    html = render_html(body, "https://news.test/a/")
    assert time.perf_counter() - start < FAST
    assert html.count("word") == 200_000


@pytest.mark.parametrize("text", ["\t" * 100_000 + "x", "Q:" * 50_000], ids=["tabs", "word"])
def test_plain_text_folds_long_lines_in_linear_time(text: str) -> None:
    start = time.perf_counter()
    block = render_markdown_text(text, base_url="https://news.test/a/")
    assert time.perf_counter() - start < FAST
    assert all(len(line) <= 72 for line in block.text.splitlines())
    start = time.perf_counter()
    lines = wrap("x" * 100_000, 72)
    assert time.perf_counter() - start < FAST
    assert "".join(lines) == "x" * 100_000
