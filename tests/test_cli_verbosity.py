"""--verbose and --quiet work after the command's name too, as the README's cron line has it
(`syndicate publish --verbose >> /var/log/syndicate.log`), not only before it."""

from __future__ import annotations

from tests.conftest import Publication, Run, article

ARTICLES = {"a.md": article("River park opens", date="2026-11-02T09:00:00+01:00")}


def test_publish_verbose_after_the_command_says_what_it_did(
    make_pub: Publication, run: Run
) -> None:
    root = make_pub(ARTICLES)

    result = run(root, "publish", "--verbose", "--now", "2026-11-03T10:00:00+01:00")

    assert result.exit_code == 0, result.output
    assert "feeds: wrote" in result.output


def test_publish_without_verbose_stays_silent(make_pub: Publication, run: Run) -> None:
    root = make_pub(ARTICLES)

    result = run(root, "publish", "--now", "2026-11-03T10:00:00+01:00")

    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_quiet_after_the_command_silences_build(make_pub: Publication, run: Run) -> None:
    root = make_pub(ARTICLES)

    loud = run(root, "build")
    quiet = run(root, "build", "-q")

    assert loud.exit_code == 0 and "wrote 3 feeds" in loud.output, loud.output
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output == ""


def test_subcommands_of_groups_take_them_too(make_pub: Publication, run: Run) -> None:
    root = make_pub(ARTICLES)

    result = run(root, "subscribers", "add", "reader@example.com", "--quiet")

    assert result.exit_code == 0, result.output
    assert run(root, "subscribers", "list", "-v").output.startswith("reader@example.com\t")
