"""Digests: period boundaries (across DST), filters, layout limits, templates, the exporter."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import REPO, Publication, Run, article
from test_plaintext import lone_url

from syndicate.build.digest import make_digest
from syndicate.config import load_config
from syndicate.text.digest import DASH, Period, normalize, period_ending
from syndicate.text.templates import builtin_templates_dir, template_environment
from syndicate.text.width import text_width

BERLIN = ZoneInfo("Europe/Berlin")
LATER = "2027-01-01T00:00:00+01:00"


def assert_layout(text: str, width: int) -> None:
    """UTF-8 text, LF only, no trailing spaces, one final newline, width kept (lone URLs aside)."""
    assert "\r" not in text
    assert text.endswith("\n") and not text.endswith("\n\n")
    for line in text.split("\n"):
        assert line == line.rstrip(), f"trailing space: {line!r}"
        assert text_width(line) <= width or lone_url(line), f"too wide: {line!r}"


def demo_copy(tmp_path: Path, digest: str = "") -> Path:
    """The repository's demo publication (config.toml + content/), with extra [digest] keys."""
    root = tmp_path / "demo"
    shutil.copytree(REPO / "content", root / "content")
    config = (REPO / "config.toml").read_text(encoding="utf-8")
    (root / "config.toml").write_text(config + f"\n[digest]\n{digest}\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("mode", ["--summary", "--full"])
def test_demo_digest_fits_the_width(run: Run, mode: str) -> None:
    result = run(REPO, "digest", "--since", "2026-01-01", "--now", LATER, mode)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert_layout(text, 72)
    assert text.startswith("THE EXAMPLE DISPATCH\n")
    for title in ("Sponge cities", "What Tokyo\u2019s bicycle garages", "Night trains return"):
        assert title in text
    assert "https://example.org/sponge-cities/" in text
    if mode == "--full":
        assert "駐輪場" in text and "Q: " in text and "[Image: " in text and "TIP:" in text


@pytest.mark.parametrize("links", ["article", "digest"])
def test_demo_digest_narrow_and_link_modes(tmp_path: Path, run: Run, links: str) -> None:
    root = demo_copy(tmp_path, f'width = 40\nlinks = "{links}"\nfull = true')
    result = run(root, "digest", "--since", "2026-01-01", "--now", LATER)
    assert result.exit_code == 0, result.output
    assert_layout(result.stdout, 40)
    ends_with_links = "\nLINKS\n" in result.stdout
    assert ends_with_links == (links == "digest")
    if links == "article":
        # Each article numbers its own links from [1] and lists them after its text.
        assert "[1] https://example.org/archive/\n[2] https://example.com/timetables/" in (
            result.stdout
        )
    else:
        # One numbering through the whole digest, listed once at the end.
        body, listed = result.stdout.split("\nLINKS\n\n", 1)
        numbers = [line.split("]")[0].strip(" [") for line in listed.split("\n") if "] " in line]
        assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
        assert len(numbers) >= 4
        assert all(f"[{n}]" in body for n in numbers)


def test_section_headings_table_of_contents_and_bylines(make_pub: Publication, run: Run) -> None:
    root = make_pub(
        {
            "a.md": article("Cities one", "2026-11-02T09:00:00+01:00", section="Cities",
                            authors=["Ann", "Bo", "Cy"], summary="First summary."),
            "b.md": article("Climate one", "2026-11-03T09:00:00+01:00", section="Climate"),
            "c.md": article("Cities two", "2026-11-04T09:00:00+01:00", section="Cities"),
            "d.md": article("No section", "2026-11-04T10:00:00+01:00"),
        }
    )  # fmt: skip
    result = run(root, "digest", "--since", "2026-11-01", "--until", "2026-11-08", "--now", LATER)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert f"Digest for 1{DASH}7 November 2026" in text
    contents = text.split("4 articles:\n", 1)[1].split("=" * 72, 1)[0]
    assert contents.strip().split("\n") == [
        "Cities",
        "  1. Cities two",
        "  2. Cities one",
        "",
        "Climate",
        "  3. Climate one",
        "",
        "  4. No section",
    ]
    assert (
        "By Ann, Bo and Cy\nMonday, 2 November 2026\nhttps://news.test/a/\n\nFirst summary." in text
    )
    assert text.index("CITIES") < text.index("CLIMATE") < text.index("4. No section\n---")


def test_a_long_title_wraps_under_its_number(make_pub: Publication, run: Run) -> None:
    title = "District heating, explained: what the city\u2019s heat plan means for your home"
    root = make_pub({"a.md": article(title, "2026-11-02T09:00:00+01:00", section="Climate")})
    result = run(root, "digest", "--since", "2026-11-01", "--until", "2026-11-08", "--now", LATER)
    assert result.exit_code == 0, result.output
    heading = (
        "1. District heating, explained: what the city\u2019s heat plan means for your\n"
        "   home\n" + "-" * 72 + "\n"
    )
    assert heading in result.stdout
    contents = "  1. District heating, explained: what the city\u2019s heat plan means for\n"
    assert contents + "     your home\n" in result.stdout  # the table of contents, likewise


def test_since_inclusive_until_exclusive_across_dst(make_pub: Publication, run: Run) -> None:
    # Berlin leaves summer time on 2026-10-25 at 03:00 CEST (-> 02:00 CET): that day has 25 hours.
    root = make_pub(
        {
            "before.md": article("Before", "2026-10-24T23:59:59+02:00"),
            "first.md": article("First instant", "2026-10-25T00:00:00+02:00"),
            "dst.md": article("Repeated hour", "2026-10-25T02:30:00+01:00"),
            "last.md": article("Last minute", "2026-10-25T23:59:00+01:00"),
            "after.md": article("Next day", "2026-10-26T00:00:00+01:00"),
        }
    )
    result = run(root, "digest", "--since", "2026-10-25", "--until", "2026-10-26", "--now", LATER)
    assert result.exit_code == 0, result.output
    assert "Digest for Sunday, 25 October 2026" in result.stdout
    for title in ("First instant", "Repeated hour", "Last minute"):
        assert title in result.stdout
    assert "Before" not in result.stdout and "Next day" not in result.stdout
    # The same boundaries given as UTC instants select the same articles.
    utc = run(
        root, "digest", "--since", "2026-10-24T22:00:00Z", "--until", "2026-10-25T23:00:00Z",
        "--now", LATER,
    )  # fmt: skip
    assert utc.stdout.count("\n  ") == result.stdout.count("\n  ")
    assert "Before" not in utc.stdout and "Next day" not in utc.stdout


def test_default_week_counts_calendar_days_across_dst() -> None:
    until = datetime(2026, 10, 29, 8, 0, tzinfo=BERLIN)  # CET
    period = period_ending(until, BERLIN)
    assert period.since == datetime(2026, 10, 22, 8, 0, tzinfo=BERLIN)  # CEST, 7 days earlier
    assert period.since.utcoffset() != period.until.utcoffset()
    assert datetime(2026, 10, 22, 6, 0, tzinfo=UTC) in period  # 08:00 CEST: inclusive
    assert datetime(2026, 10, 29, 7, 0, tzinfo=UTC) not in period  # 08:00 CET: exclusive


def test_relative_since_and_unpublished_articles(make_pub: Publication, run: Run) -> None:
    root = make_pub(
        {
            "old.md": article("Old", "2026-11-01T09:00:00+01:00"),
            "new.md": article("New", "2026-11-09T09:00:00+01:00"),
            "draft.md": article("Draft", "2026-11-09T10:00:00+01:00", draft=True),
            "embargo.md": article(
                "Embargoed", "2026-11-09T11:00:00+01:00", publish_at="2026-11-20T08:00:00+01:00"
            ),
        }
    )
    result = run(root, "digest", "--since", "3d", "--now", "2026-11-10T12:00:00+01:00")
    assert result.exit_code == 0, result.output
    assert "New" in result.stdout
    assert all(t not in result.stdout for t in ("Old", "Draft", "Embargoed"))
    # Once its embargo lifts, the article belongs to the period it became visible in.
    later = run(root, "digest", "--since", "2026-11-20", "--now", "2026-11-21T00:00:00+01:00")
    assert "Embargoed" in later.stdout and "\n  1. New" not in later.stdout


def test_section_and_tag_filters(make_pub: Publication, run: Run) -> None:
    root = make_pub(
        {
            "a.md": article("Alpha", "2026-11-02T09:00:00+01:00", section="Local politics",
                            tags=["Housing"]),
            "b.md": article("Beta", "2026-11-02T10:00:00+01:00", section="Climate",
                            tags=["energy", "housing"]),
            "c.md": article("Gamma", "2026-11-02T11:00:00+01:00", section="Climate"),
        }
    )  # fmt: skip
    args = ("digest", "--since", "2026-11-01", "--now", LATER)
    by_section = run(root, *args, "--section", "local-politics").stdout
    assert "Alpha" in by_section and "Beta" not in by_section
    by_tag = run(root, *args, "--tag", "housing").stdout
    assert "Alpha" in by_tag and "Beta" in by_tag and "Gamma" not in by_tag
    both = run(root, *args, "--tag", "housing", "--section", "Climate").stdout
    assert "Beta" in both and "Alpha" not in both and "Gamma" not in both


def test_empty_period_says_so_and_writes_nothing(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha", "2026-11-02T09:00:00+01:00")})
    target = root / "out" / "digest.txt"
    result = run(
        root, "digest", "--since", "2026-12-01", "--until", "2026-12-08", "-o", str(target),
        "--now", LATER,
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == f"no articles published in 1{DASH}7 December 2026; nothing written\n"
    assert not target.exists() and not target.parent.exists()


def test_an_empty_last_week_points_at_the_newest_article(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha", "2026-11-05T09:00:00+01:00")})
    result = run(root, "digest", "--now", "2026-12-01T08:00:00+01:00")
    assert result.exit_code == 0
    assert result.stderr.endswith(
        "nothing written (the newest article is from 5 November 2026: try --since 2026-10-30)\n"
    ), result.stderr


def test_output_file_matches_stdout_and_is_deterministic(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha", "2026-11-02T09:00:00+01:00", body="[x](/y/)")})
    args = ("digest", "--since", "2026-11-01", "--full", "--now", LATER)
    first = run(root, *args).stdout_bytes
    assert first == run(root, *args).stdout_bytes
    target = root / "digest.txt"
    written = run(root, *args, "-o", str(target))
    assert written.exit_code == 0, written.output
    assert written.stderr == f"wrote {target} (1 article)\n"
    assert target.read_bytes() == first
    assert b"Alpha [1]" not in first and b"x [1]\n\n[1] https://news.test/y/\n" in first
    assert list(root.glob(".digest.txt.*")) == []  # no temp file left behind


def test_content_cannot_inject_template_syntax(make_pub: Publication, run: Run) -> None:
    root = make_pub(
        {
            "a.md": article(
                "{{ 7 * 7 }} and {% raw %}",
                "2026-11-02T09:00:00+01:00",
                summary="{{ publication.postal_address }} {# not a comment #}",
                body="Body {{ config }} {% for x in y %}",
            )
        }
    )
    result = run(root, "digest", "--since", "2026-11-01", "--full", "--now", LATER)
    assert result.exit_code == 0, result.output
    assert "{{ 7 * 7 }} and {% raw %}" in result.stdout
    assert "Body {{ config }} {% for x in y %}" in result.stdout
    summary = run(root, "digest", "--since", "2026-11-01", "--now", LATER).stdout
    assert "{{ publication.postal_address }} {# not a comment #}" in summary


def test_publication_template_overrides_file_by_file(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha", "2026-11-02T09:00:00+01:00")})
    (root / "templates").mkdir()
    (root / "templates" / "digest.txt.j2").write_text(
        "{{ publication.title }} / {{ period_label }}   \r\n\n\n\n"
        "{% for e in entries %}* {{ e.title | wrap(width) }}\n{% endfor %}\n\n",
        encoding="utf-8",
    )
    result = run(root, "digest", "--since", "2026-11-01", "--until", "2026-11-08", "--now", LATER)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Test Times / 1{DASH}7 November 2026\n\n* Alpha\n"
    env = template_environment(load_config(root / "config.toml"), autoescape=False)
    assert env.loader is not None
    _, filename, _ = env.loader.get_source(env, "digest.txt.j2")
    assert filename == str(root / "templates" / "digest.txt.j2")
    (root / "templates" / "digest.txt.j2").unlink()
    _, filename, _ = env.loader.get_source(env, "digest.txt.j2")
    assert filename == str(builtin_templates_dir() / "digest.txt.j2")


def test_broken_override_is_a_clean_error(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha", "2026-11-02T09:00:00+01:00")})
    (root / "templates").mkdir()
    (root / "templates" / "digest.txt.j2").write_text("ok\n{% for %}\n", encoding="utf-8")
    result = run(root, "digest", "--since", "2026-11-01", "--now", LATER)
    assert result.exit_code == 1
    assert "digest.txt.j2:2:" in result.stderr and "Traceback" not in result.stderr
    (root / "templates" / "digest.txt.j2").write_text("{{ nope.title }}\n", encoding="utf-8")
    result = run(root, "digest", "--since", "2026-11-01", "--now", LATER)
    assert result.exit_code == 1
    assert "digest.txt.j2:1: 'nope' is undefined" in result.stderr


def test_build_writes_the_latest_digest_only_when_enabled(make_pub: Publication, run: Run) -> None:
    articles = {
        "a.md": article("Alpha", "2026-11-02T09:00:00+01:00"),
        "b.md": article("Beta", "2026-11-10T09:00:00+01:00"),
        "c.md": article("Gamma", "2026-11-15T23:30:00+01:00"),
    }
    plain = make_pub(articles, name="plain")
    assert run(plain, "build", "--now", LATER).exit_code == 0
    assert not (plain / "feeds" / "digest.txt").exists()

    root = make_pub(articles, extra="[digest]\nbuild = true\nwidth = 50", name="digest")
    result = run(root, "build", "--now", LATER)
    assert result.exit_code == 0
    # The summary counts the digest apart from the feeds.
    assert "wrote 3 feeds + " in result.output and " + 1 other file for 3 articles" in result.output
    first = (root / "feeds" / "digest.txt").read_bytes()
    text = first.decode("utf-8")
    # The week ending at the midnight after the newest article: 9-15 November.
    assert f"Digest for 9{DASH}15 November 2026" in text
    assert "Gamma" in text and "Beta" in text and "Alpha" not in text
    assert_layout(text, 50)
    assert run(root, "build", "--now", "2027-06-01T00:00:00+02:00").exit_code == 0
    assert (root / "feeds" / "digest.txt").read_bytes() == first


def test_make_digest_api(tmp_path: Path) -> None:
    config = load_config(demo_copy(tmp_path) / "config.toml")
    digest = make_digest(
        config,
        since=datetime(2026, 11, 16, tzinfo=BERLIN),
        until=datetime(2026, 11, 23, tzinfo=BERLIN),
        now=datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert [a.slug for a in digest.articles] == ["housing-cooperatives"]
    assert digest.period == Period(
        datetime(2026, 11, 16, tzinfo=BERLIN), datetime(2026, 11, 23, tzinfo=BERLIN)
    )
    assert digest.text == normalize(digest.text)


def test_normalize() -> None:
    assert normalize("a  \r\n\r\n\r\n\r\nb\t\n\n") == "a\n\nb\n"
    assert normalize("\n\n") == ""


def test_build_digest_full_text_is_stable_across_cached_builds(
    make_pub: Publication, run: Run
) -> None:
    body = "Body text with a [link](/more/).\n\n> [!TIP]\n> A tip.\n"
    root = make_pub(
        {"a.md": article("Alpha", "2026-11-02T09:00:00+01:00", body=body)},
        extra="[digest]\nbuild = true\nfull = true",
    )
    assert run(root, "build", "--now", LATER).exit_code == 0
    first = (root / "feeds" / "digest.txt").read_bytes()
    assert b"Body text with a link [1].\n\nTIP:\n  A tip.\n\n[1] https://news.test/more/\n" in first
    assert run(root, "build", "--now", LATER).exit_code == 0
    assert (root / "feeds" / "digest.txt").read_bytes() == first


def test_since_after_until_is_a_usage_error(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha", "2026-11-02T09:00:00+01:00")})
    result = run(root, "digest", "--since", "2026-11-08", "--until", "2026-11-01", "--now", LATER)
    assert result.exit_code == 1
    assert "--since (2026-11-08T00:00:00+01:00) must be before --until" in result.stderr
    bad = run(root, "digest", "--since", "last tuesday", "--now", LATER)
    assert bad.exit_code == 1 and "not a time: 'last tuesday'" in bad.stderr


@pytest.mark.parametrize("mode", ["--full", "--summary"])
def test_struck_text_reads_as_struck_in_the_digest(
    make_pub: Publication, run: Run, mode: str
) -> None:
    root = make_pub({"a.md": article("Founding", body="Founded ~~2019~~ 2018.\n")})
    result = run(root, "digest", "--since", "2026-01-01", "--now", "2026-11-05T00:00:00Z", mode)
    assert result.exit_code == 0, result.output
    assert "Founded [deleted: 2019] 2018." in result.output
    assert "2019 2018" not in result.output
