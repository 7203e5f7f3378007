"""The start-up stamp (``build/noop.py``, ``cli/fastpath.py``): a no-op ``syndicate build``
answered before click and the core load prints what the normal no-op printed, and any change
that could alter the output falls through to the normal build.

The CLI runs in a subprocess, as cron runs it (the console script's ``main``); a probe line
at exit says whether click was ever imported, i.e. whether the fast path answered.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndicate.build import noop
from syndicate.cli import fastpath
from syndicate.config import CONFIG_ENV, DEFAULT_CONFIG, StateConfig, load_config
from tests.conftest import Publication, Run, article
from tests.content_files import aged, write

PROBE = (
    "import sys\n"
    "from syndicate.cli import main\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    sys.stderr.write(f\"\\nFAST={'click' not in sys.modules}\\n\")\n"
)


class Outcome:
    """One CLI run: exit code, stdout, stderr (probe line removed), and whether it was fast."""

    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.code = done.returncode
        self.stdout = done.stdout
        err, _, probe = done.stderr.rpartition("\nFAST=")
        self.stderr = err
        self.fast = probe.strip() == "True"

    def same_lines(self, other: Outcome) -> bool:
        """Equal output but for the seconds in the summary."""
        return _no_seconds(self.stdout) == _no_seconds(other.stdout) and self.stderr == (
            other.stderr
        )


def _no_seconds(text: str) -> str:
    before, _, rest = text.partition(" in ")
    return before + rest[rest.find(" s (") :] if rest else text


def syndicate(root: Path, *args: str, env: dict[str, str] | None = None) -> Outcome:
    """``syndicate --config ROOT/config.toml ARGS`` in a subprocess, from a folder of its own."""
    cwd = root.parent / "cwd"
    cwd.mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--config", str(root / "config.toml"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return Outcome(done)


@pytest.fixture
def site(make_pub: Publication, run: Run) -> Path:
    """A publication built twice: the second build is a normal no-op, which writes the stamp.

    The first build only makes the output, so it runs in this process (a subprocess for it
    cost ~1 s of CPU per test); the no-op that writes the stamp runs as the tests' runs do."""
    root = make_pub({}, feeds="max_items = 3")
    for number in range(6):
        write(
            root,
            f"2026-11-0{number + 1}-story-{number}.md",
            article(
                f"Story {number}",
                date=f"2026-11-0{number + 1}T09:00:00+01:00",
                tags=["Rail"] if number % 2 else ["Courts"],
                section="World",
            ),
        )
    write(root, "pictured.md", article("Pictured", image="https://news.test/i.jpg"))
    aged(root / "config.toml")
    first = run(root, "build")
    assert first.exit_code == 0, first.output
    normal = syndicate(root, "build")
    assert normal.code == 0 and not normal.fast, normal.stderr
    assert "(0 changed, " in normal.stdout
    assert (root / "state" / noop.STAMP_NAME).is_file()
    return root


def assert_fast(root: Path) -> Outcome:
    result = syndicate(root, "build")
    assert result.code == 0, result.stderr
    assert result.fast, "the untouched tree was not answered by the stamp"
    return result


def assert_falls_through(root: Path) -> Outcome:
    """The change is seen: the normal build runs (and then writes a new stamp when the tree
    is settled again, so the run after next is fast once more)."""
    result = syndicate(root, "build")
    assert result.code == 0, result.stderr
    assert not result.fast
    return result


def test_an_untouched_tree_is_answered_by_the_stamp_with_the_same_lines(site: Path) -> None:
    quiet_normal = syndicate(site, "build", "--no-cache", "-q")  # removes the stamp
    normal = syndicate(site, "--verbose", "build")  # not a form the fast path reads; restamps
    assert not normal.fast and not quiet_normal.fast
    fast = assert_fast(site)
    again = syndicate(site, "build")
    assert again.fast and again.same_lines(fast)
    assert "pictured.md:" in fast.stderr and "image has no alt text" in fast.stderr
    assert fast.stdout.startswith("wrote 3 feeds + ") and "(0 changed, " in fast.stdout
    # -v adds its debug lines; what both print otherwise is the same
    assert _no_seconds(normal.stdout) == _no_seconds(fast.stdout)
    assert all(line in normal.stderr.splitlines() for line in fast.stderr.splitlines())
    quiet = syndicate(site, "-q", "build")
    assert quiet.fast and quiet.stdout == "" and quiet.stderr == fast.stderr
    assert quiet_normal.stderr == quiet.stderr


def test_editing_adding_removing_or_touching_content_falls_through(site: Path) -> None:
    story = site / "content" / "2026-11-06-story-5.md"
    story.write_text(
        article("Story five, revised", date="2026-11-06T09:00:00+01:00", section="World")
    )
    aged(story)
    assert_falls_through(site)
    assert "Story five, revised" in (site / "feeds" / "sections" / "world" / "rss.xml").read_text()
    syndicate(site, "build")  # the normal no-op: stamp again
    assert_fast(site)

    write(site, "added.md", article("Added", date="2026-11-20T09:00:00+01:00"))
    assert_falls_through(site)
    assert "Added" in (site / "feeds" / "rss.xml").read_text()
    syndicate(site, "build")

    (site / "content" / "added.md").unlink()
    assert_falls_through(site)
    assert "Added" not in (site / "feeds" / "rss.xml").read_text()
    syndicate(site, "build")

    aged(story)  # a new mtime, same bytes
    assert_falls_through(site)
    syndicate(site, "build")
    assert_fast(site)


def test_a_change_that_keeps_the_mtime_but_not_the_size_falls_through(site: Path) -> None:
    story = site / "content" / "2026-11-06-story-5.md"
    st = story.stat()
    story.write_text(article("Story five, longer title", date="2026-11-06T09:00:00+01:00"))
    os.utime(story, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert_falls_through(site)
    assert "Story five, longer title" in (site / "feeds" / "rss.xml").read_text()


def test_files_the_build_does_not_read_keep_the_stamp(site: Path) -> None:
    """The stamp sees the content as the build's scan does (``content/walk.py``): an editor's
    swap file, an underscore draft folder or an image changes no output."""
    write(site, ".story-1.md.swp", "scratch")
    write(site, "_drafts/idea.md", article("Idea"))
    write(site, "photo.jpg", "not an article")
    assert_fast(site)


def test_editing_the_config_falls_through(site: Path) -> None:
    config = site / "config.toml"
    config.write_text(config.read_text().replace("Test Times", "Test Times Weekly"))
    aged(config)
    assert_falls_through(site)
    assert "Test Times Weekly" in (site / "feeds" / "rss.xml").read_text()


def test_adding_or_editing_a_template_falls_through(site: Path) -> None:
    templates = site / "templates"
    templates.mkdir()
    (templates / "digest.txt.j2").write_text("{{ publication.title }}\n")
    assert_falls_through(site)
    syndicate(site, "build")
    assert_fast(site)
    (templates / "digest.txt.j2").write_text("{{ publication.title }}!\n")
    assert_falls_through(site)


@pytest.mark.parametrize("damage", ["deleted", "modified"])
def test_a_deleted_or_modified_output_file_falls_through_and_is_rewritten(
    site: Path, damage: str
) -> None:
    feed = site / "feeds" / "tags" / "rail" / "atom.xml"
    good = feed.read_bytes()
    if damage == "deleted":
        feed.unlink()
    else:
        feed.write_bytes(good + b" ")
    result = assert_falls_through(site)
    assert feed.read_bytes() == good
    assert "(1 changed, " in result.stdout or damage == "replaced with a dir"


def test_a_new_output_folder_option_or_working_directory_is_not_the_stamped_one(
    site: Path,
) -> None:
    assert not syndicate(site, "build", "--out", str(site / "elsewhere")).fast
    assert (site / "elsewhere" / "rss.xml").is_file()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "build"],
        cwd=site,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr.rstrip().endswith("FAST=False")


def test_a_state_database_or_a_database_url_falls_through(site: Path) -> None:
    """With a state database the build also writes the newsletter archive: not stamped.

    The URL names a scheme the configuration refuses at once (an unreachable PostgreSQL would
    only make the normal build wait out the pool's connection timeout): what matters is that
    the stamp did not answer."""
    assert not syndicate(
        site, "build", env={"SYNDICATE_DATABASE_URL": "mysql://nobody@127.0.0.1:1/x"}
    ).fast
    assert_falls_through(site)  # the stamp was set aside; this build writes a new one
    assert_fast(site)
    (site / "state" / "syndicate.db").touch()
    assert_falls_through(site)
    assert_falls_through(site)  # and no stamp is written while it exists


def test_a_fresh_edit_is_racy_and_gets_no_stamp(site: Path) -> None:
    """A file changed within the last moments may change again without a visible stat change
    (coarse timestamps): no stamp is written over it until it has settled."""
    config = load_config(site / "config.toml")
    key = noop.config_key(site / "config.toml", None)
    assert key is not None
    long_ago = [("a.md", 10, time.time_ns() - 10 * noop.RACY_NS)]
    just_now = [*long_ago, ("b.md", 10, time.time_ns())]
    assert not noop.racy(long_ago) and noop.racy(just_now)
    stamp = noop.stamp_file(config.state_db)
    stamp.unlink()
    written = noop.record(
        key,
        just_now,
        state_db=config.state_db,
        content_dir=config.content_dir,
        window=(None, None),
        outputs=(),
        watched=(),
        replay=noop.Replay((), "wrote ", " s"),
    )
    assert not written and not stamp.exists()


# --- the check itself, in this process (the stamp written by the in-process CLI) -----------


@pytest.fixture
def stamped(make_pub: Publication, run: Run) -> Path:
    root = make_pub({}, feeds="max_items = 3")
    soon = datetime.now(UTC) + timedelta(days=2)
    write(root, "now.md", article("Now", date="2026-11-01T09:00:00+01:00"))
    write(
        root,
        "embargoed.md",
        article(
            "Embargoed", date="2026-11-02T09:00:00+01:00", publish_at=soon.isoformat("T", "seconds")
        ),
    )
    aged(root / "config.toml")
    for _ in range(2):
        result = run(root, "build")
        assert result.exit_code == 0, result.output
    return root


def test_the_embargo_ending_ends_the_stamp(stamped: Path) -> None:
    config = stamped / "config.toml"
    now = time.time_ns()
    assert noop.check(config, None, now_ns=now) is not None
    assert noop.check(config, None, now_ns=now + 2 * 86_400 * 10**9) is None
    assert noop.check(config, None, now_ns=now - 400 * 86_400 * 10**9) is None  # before "Now"


def test_another_syndicate_version_ends_the_stamp(
    stamped: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stamped / "config.toml"
    assert noop.check(config, None) is not None
    monkeypatch.setattr(noop, "__version__", "999.0")
    assert noop.check(config, None) is None


def test_a_damaged_stamp_is_ignored(stamped: Path) -> None:
    config = stamped / "config.toml"
    stamp = noop.stamp_file(load_config(config).state_db)
    for junk in (b"", b"\x00garbage", stamp.read_bytes()[:-7]):
        stamp.write_bytes(junk)
        assert noop.check(config, None) is None


def test_any_other_build_removes_the_stamp(stamped: Path, run: Run) -> None:
    stamp = noop.stamp_file(load_config(stamped / "config.toml").state_db)
    assert stamp.is_file()
    assert run(stamped, "build", "--no-cache").exit_code == 0
    assert not stamp.exists()


@pytest.mark.parametrize(
    ("argv", "parsed"),
    [
        (["build"], (None, None, False)),
        (["--config", "c.toml", "-q", "build"], ("c.toml", None, True)),
        (["--config=c.toml", "build", "--out", "o/", "--quiet"], ("c.toml", "o", True)),
        (["build", "--out=o"], (None, "o", False)),
        (["-v", "build"], None),
        (["build", "--now", "2026-01-01"], None),
        (["build", "--no-cache"], None),
        (["build", "--html", "x.html"], None),
        (["--config", "a", "--config", "b", "build"], None),
        (["--config", "build"], None),
        (["build", "--out"], None),
        (["--help"], None),
        (["build", "--help"], None),
        (["publish"], None),
        ([], None),
    ],
)
def test_only_the_plain_build_forms_are_read_by_hand(
    argv: list[str], parsed: tuple[str | None, str | None, bool] | None
) -> None:
    assert fastpath._parse(argv) == parsed


def test_defaults_kept_apart_for_speed_match_their_sources() -> None:
    assert fastpath.CONFIG_ENV == CONFIG_ENV
    assert fastpath.DEFAULT_CONFIG == DEFAULT_CONFIG
    assert noop.DEFAULT_STATE_DB == StateConfig().db
