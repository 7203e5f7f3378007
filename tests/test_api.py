"""The library API (``syndicate.Publication``): the CLI's operations from Python, same output.

Each test runs the CLI on one copy of the demo publication and the API on another, and
compares the bytes; errors must arrive as SyndicateError subclasses, with no click involved.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import feedparser
import pytest

import syndicate
from syndicate import Publication
from syndicate.build.pipeline import BuildResult
from syndicate.errors import ConfigError, ContentError, SyndicateError, UsageError
from tests.conftest import REPO, Run, article, tree_bytes

NOW = "2026-11-25T09:00:00+01:00"


def demo(tmp_path: Path, name: str = "demo") -> Path:
    """A copy of the repository's demo publication (config.toml + content/)."""
    root = tmp_path / name
    root.mkdir()
    shutil.copy(REPO / "config.toml", root / "config.toml")
    shutil.copytree(REPO / "content", root / "content")
    return root


def test_import_syndicate_stays_light_and_the_api_needs_no_click() -> None:
    code = textwrap.dedent(
        """
        import sys
        import syndicate
        light = sorted(m for m in sys.modules if m.startswith("syndicate"))
        from syndicate import Publication
        print(light, Publication.__module__, "click" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.split() == ["['syndicate']", "syndicate.api", "False"]


def test_load_takes_the_folder_or_its_config(tmp_path: Path) -> None:
    root = demo(tmp_path)
    by_folder = Publication.load(root)
    by_file = Publication.load(str(root / "config.toml"))
    assert by_folder.config == by_file.config
    assert by_folder.root == root.absolute()
    assert by_folder.title == "The Example Dispatch"
    with pytest.raises(AttributeError, match="no attribute 'Publications'"):
        _ = syndicate.Publications  # type: ignore[attr-defined]


def test_build_writes_the_same_bytes_as_the_cli(tmp_path: Path, run: Run) -> None:
    cli_root, api_root = demo(tmp_path, "cli"), demo(tmp_path, "api")
    assert run(cli_root, "build", "--now", NOW).exit_code == 0
    result = Publication.load(api_root).build(now=NOW)
    assert isinstance(result, BuildResult)
    assert result.articles == 9 and result.main_files == 3
    expected = tree_bytes(cli_root / "feeds")
    assert "rss.xml" in expected
    assert tree_bytes(api_root / "feeds") == expected
    assert len(feedparser.parse(expected["rss.xml"]).entries) == 9


def test_build_out_and_without_cache(tmp_path: Path) -> None:
    pub = Publication.load(demo(tmp_path))
    first = pub.build(tmp_path / "site", now=NOW, use_cache=False)
    assert not first.cached and len(first.report.written) == len(first.paths)
    again = pub.build(tmp_path / "site", now=NOW)
    assert not again.report.written  # bytes unchanged: nothing rewritten
    assert not (pub.root / "feeds").exists()


def test_next_edition_is_what_the_cli_previews(tmp_path: Path, run: Run) -> None:
    cli_root, api_root = demo(tmp_path, "cli"), demo(tmp_path, "api")
    assert run(cli_root, "email", "--now", NOW).exit_code == 0
    files = cli_root / "newsletter"
    preview = Publication.load(api_root).next_edition(now=NOW)
    assert preview is not None
    assert preview.id == "2026-11-25"
    assert preview.subject.startswith("The Example Dispatch: Sponge cities")
    assert len(preview.edition.articles) == 9
    assert preview.html == (files / "2026-11-25.html").read_bytes()
    assert preview.text == (files / "2026-11-25.txt").read_bytes()
    assert preview.eml == (files / "2026-11-25.eml").read_bytes()
    message = BytesParser(policy=policy.default).parsebytes(preview.eml)
    assert message["To"] == preview.recipient == "subscriber@example.invalid"
    assert not (api_root / "newsletter").exists()  # in memory only


def test_write_preview_writes_the_cli_files(tmp_path: Path, run: Run) -> None:
    cli_root, api_root = demo(tmp_path, "cli"), demo(tmp_path, "api")
    assert run(cli_root, "email", "--now", NOW).exit_code == 0
    written = Publication.load(api_root).write_preview(tmp_path / "out", now=NOW)
    assert written is not None
    assert written.html_path == tmp_path / "out" / "2026-11-25.html"
    assert tree_bytes(tmp_path / "out") == tree_bytes(cli_root / "newsletter")


def test_next_edition_with_nothing_chosen_is_none(tmp_path: Path) -> None:
    pub = Publication.load(demo(tmp_path))
    assert pub.next_edition(now=NOW, since=NOW) is None
    assert pub.write_preview(now=NOW, since=NOW) is None
    chosen = pub.next_edition(now=NOW, slugs=["night-trains-return"])
    assert chosen is not None and [a.slug for a in chosen.edition.articles] == [
        "night-trains-return"
    ]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        (("--since", "2026-10-01", "--full"), {"since": "2026-10-01", "full": True}),
        (("--since", "60d", "--section", "Climate"), {"since": "60d", "section": "Climate"}),
        (("--since", "60d", "--tag", "transport"), {"since": "60d", "tag": ["transport"]}),
    ],
)
def test_digest_matches_the_cli(
    tmp_path: Path, run: Run, args: tuple[str, ...], kwargs: dict[str, object]
) -> None:
    root = demo(tmp_path)
    result = run(root, "digest", "--now", NOW, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") > 5
    assert Publication.load(root).digest(now=NOW, **kwargs) == result.stdout  # type: ignore[arg-type]


def test_digest_of_an_empty_period_is_empty(tmp_path: Path) -> None:
    pub = Publication.load(demo(tmp_path))
    assert pub.digest(since="2020-01-01", until="2020-02-01", now=NOW) == ""


def test_articles_are_the_published_ones_rendered(tmp_path: Path) -> None:
    pub = Publication.load(demo(tmp_path))
    articles = pub.articles(now=NOW)
    assert len(articles) == 9
    assert articles[0].slug == "sponge-cities"  # newest first
    assert all(a.html for a in articles)
    # A naive datetime is taken in the publication's timezone, as --now takes one.
    earlier = pub.articles(now=datetime(2026, 11, 1), render=False)  # noqa: DTZ001
    assert len(earlier) == 5 and not any(a.html for a in earlier)


def test_import_sources_writes_content_that_publishes(tmp_path: Path) -> None:
    pub = Publication.load(demo(tmp_path))
    page = tmp_path / "harbour.html"
    page.write_text(
        "<html><head><title>Harbour cranes go electric</title></head><body>"
        "<h1>Harbour cranes go electric</h1><p>The port swapped diesel for cables.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    note = tmp_path / "ferry.txt"
    note.write_text("Night ferry returns\n\nThe ferry sails again from Friday.\n", "utf-8")
    report = pub.import_sources([page, note], date="2026-11-24T10:00", tags=["port"])
    assert report.problems == ()
    assert [item.status for item in report.imported] == ["written", "written"]
    assert all(item.target.parent == pub.root / "content" for item in report.imported)
    titles = {a.title: a for a in pub.articles(now=NOW)}
    assert "Harbour cranes go electric" in titles and "Night ferry returns" in titles
    assert titles["Night ferry returns"].tags == ("port",)
    again = pub.import_sources([page], date="2026-11-24T10:00", tags=["port"])
    assert [item.status for item in again.imported] == ["unchanged"]


def test_import_of_a_missing_source_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    pub = Publication.load(demo(tmp_path))
    report = pub.import_sources([tmp_path / "nope.txt"], into=tmp_path / "in")
    assert report.imported == ()
    [problem] = report.problems
    assert "nope.txt" in str(problem)


def test_validate_lists_every_problem(tmp_path: Path) -> None:
    root = demo(tmp_path)
    pub = Publication.load(root)
    assert pub.validate() == []
    (root / "content" / "no-alt.md").write_text(
        article("Pictures", body="![](https://example.org/a.png)\n"), encoding="utf-8"
    )
    [warning] = pub.validate()
    assert warning.warning and "no-alt.md" in str(warning.path) and "alt" in warning.message
    (root / "content" / "broken.md").write_text(
        article("Broken", date='"tomorrow"'), encoding="utf-8"
    )
    errors = [p for p in pub.validate() if not p.warning]
    assert len(errors) == 1 and errors[0].line == 3
    assert "broken.md" in str(errors[0].path) and "date: not a date" in errors[0].message
    with pytest.raises(ContentError) as caught:  # the same problem stops a build
        pub.build(now=NOW)
    assert errors[0] in caught.value.problems


def test_validate_with_email_lints_the_edition(tmp_path: Path) -> None:
    pub = Publication.load(demo(tmp_path))
    problems = pub.validate(email=True, now=NOW)
    assert not [p for p in problems if not p.warning], problems


def test_subscribers_add_list_unsubscribe_remove(tmp_path: Path, run: Run) -> None:
    root = demo(tmp_path)
    pub = Publication.load(root)
    added = pub.add_subscriber("ana@example.org", "Ana  Example")
    assert (added.email, added.name, added.status) == ("ana@example.org", "Ana Example", "active")
    pub.add_subscriber("bo@example.org")
    assert [s.email for s in pub.subscribers_list()] == ["ana@example.org", "bo@example.org"]
    assert pub.unsubscribe("bo@example.org") is not None
    assert [s.email for s in pub.subscribers_list("active")] == ["ana@example.org"]
    assert pub.subscriber_counts()["unsubscribed"] == 1
    listed = run(root, "subscribers", "list")  # the CLI sees the same store
    assert listed.stdout.splitlines()[0].startswith("ana@example.org\tAna Example\tactive\tapi")
    assert pub.remove_subscriber("bo@example.org") is True
    assert pub.remove_subscriber("bo@example.org") is False
    with pytest.raises(UsageError):
        pub.add_subscriber("not an address")


def test_publish_dry_run_writes_and_sends_nothing(tmp_path: Path) -> None:
    root = demo(tmp_path)
    pub = Publication.load(root)
    pub.add_subscriber("ana@example.org")
    report = pub.publish(now=NOW, dry_run=True)
    assert report.exit_code == 0, report.errors
    assert any("would send 9 articles to 1 active subscriber" in a for a in report.actions)
    assert not (root / "feeds").exists() and not (root / "outbox").exists()
    assert pub.next_edition(now=NOW) is not None  # nothing was marked as sent


def test_errors_are_syndicate_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        Publication.load(tmp_path / "nowhere")
    assert "config file not found" in str(missing.value)
    root = demo(tmp_path)
    config = root / "config.toml"
    config.write_text(config.read_text("utf-8").replace('language = "en"', "language = 7"), "utf-8")
    with pytest.raises(ConfigError) as bad:
        Publication.load(root)
    assert bad.value.problems[0].line == 7
    config.write_text((REPO / "config.toml").read_text("utf-8"), "utf-8")
    pub = Publication.load(root)
    with pytest.raises(SyndicateError, match="not a time"):
        pub.digest(since="last tuesday", now=NOW)
    with pytest.raises(UsageError, match="unknown timezone"):
        pub.import_sources([], timezone="Mars/Olympus")


def test_the_readme_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## Library API\n") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(demo(tmp_path))
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "error:" not in out, out
    assert "wrote 3 feeds" in out and "['reader@example.org']" in out
    assert "would send" in out
