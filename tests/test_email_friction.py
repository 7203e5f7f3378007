"""What a newcomer hits in the first hour of ``syndicate email`` and friends: the README's
"Check it" step after an edition went out, ``--open`` without a browser, the text footer's
line breaks, counted nouns, and one ``error:`` prefix for every CLI error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from syndicate.text.words import plural
from tests.conftest import Publication, Run, article
from tests.smtp_server import smtp_server

SECRET = "friction-tests-secret-0123456789abcdef"


def newcomer_pub(run: Run, tmp_path: Path, port: int) -> Path:
    """`syndicate init` as the README says, wired to a local SMTP sink."""
    root = tmp_path / "my-paper"
    assert run(None, "init", str(root)).exit_code == 0
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert 'transport = "file"' in text
    text = text.replace('transport = "file"', 'transport = "smtp"')
    text += f'\n[email.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = 10\n'
    config.write_text(text, encoding="utf-8")
    return root


def test_check_it_step_works_after_an_edition_was_sent(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    with smtp_server() as inbox:
        root = newcomer_pub(run, tmp_path, inbox.port)
        assert run(root, "build").exit_code == 0
        assert run(root, "email").exit_code == 0
        first = run(root, "email", "--to", "me@example.org")
        assert first.exit_code == 0, first.output
        assert run(root, "subscribers", "add", "reader@example.org").exit_code == 0
        assert run(root, "email", "--send", "--yes").exit_code == 0
        assert len(inbox.to("reader@example.org")) == 1

        again = run(root, "email", "--to", "me@example.org")
        assert again.exit_code == 0
        assert "nothing to send" in again.stdout
        assert "add --since 7d or --article SLUG for a test copy" in again.stdout
        preview = run(root, "email")
        assert "add --since 7d or --article SLUG for a preview" in preview.stdout

        hinted = run(root, "email", "--to", "me@example.org", "--since", "7d")
        assert hinted.exit_code == 0, hinted.output
        copies = inbox.to("me@example.org")
        assert len(copies) == 2
        plain = copies[-1].message.get_body(("plain",))
        assert plain is not None
        assert "unsubscribe?token=" in plain.get_content()
    assert len(inbox.to("reader@example.org")) == 1  # a test copy is not an edition


def test_nothing_chosen_says_so(make_pub: Publication, run: Run) -> None:
    root = make_pub({"x.md": article("Only one", date="2026-11-20T08:00:00+01:00")})
    result = run(root, "email", "--since", "2030-01-01", "--now", "2026-11-25T09:00:00+01:00")
    assert result.exit_code == 0
    assert result.stdout == "nothing to send: no published article matches --since/--article\n"


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="they always have a browser")
def test_open_without_a_browser_is_one_line(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    root = make_pub({"x.md": article("Only one", date="2026-11-20T08:00:00+01:00")})
    result = run(root, "email", "--open", "--now", "2026-11-25T09:00:00+01:00")
    assert result.exit_code == 0, result.output
    html = root / "newsletter" / "2026-11-25.html"
    assert result.stderr == f"no web browser to open here; open {html} yourself\n"


@pytest.mark.parametrize(
    "title", ["My Publication", "The Example Dispatch", "A" * 20 + " Weekly Long Title Ltd"]
)
def test_text_footer_breaks_between_sentences(make_pub: Publication, run: Run, title: str) -> None:
    root = make_pub({"x.md": article("Only one", date="2026-11-20T08:00:00+01:00")})
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8")
    head, _, rest = text.partition("title = ")
    config.write_text(head + f'title = "{title}"\n' + rest.partition("\n")[2], encoding="utf-8")
    assert run(root, "email", "--now", "2026-11-25T09:00:00+01:00").exit_code == 0
    plain = (root / "newsletter" / "2026-11-25.txt").read_text(encoding="utf-8")
    footer = plain.split("-" * 72 + "\n", 1)[1]
    lines = footer.splitlines()
    sentence = " ".join(lines[: lines.index("Subscribed address: subscriber@example.invalid")])
    assert sentence == f"You are receiving this email because you subscribed to {title}."
    assert all(len(line) <= 72 for line in lines)
    assert "as:" not in lines


def test_plural() -> None:
    assert plural(1, "bad row") == "1 bad row"
    assert plural(0, "bad row") == "0 bad rows"
    assert plural(2, "entry", "entries") == "2 entries"


def test_export_count_is_singular_for_one(make_pub: Publication, run: Run, tmp_path: Path) -> None:
    root = make_pub()
    assert run(root, "subscribers", "add", "ann@example.com").exit_code == 0
    result = run(root, "subscribers", "export", str(tmp_path / "one.csv"))
    assert result.stdout == f"exported 1 subscriber to {tmp_path / 'one.csv'}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("subscribers", "unsubscribe", "nobody@example.com"), "not subscribed: nobody@"),
        (("email", "--yes"), "--yes, --resend-uncertain and --skip-uncertain go with --send"),
        (("--bogus",), "No such option '--bogus'"),
        (("no-such-command",), "No such command 'no-such-command'"),
        (("build", "--now", "yesterday-ish"), "not an ISO date-time"),
    ],
)
def test_every_cli_error_starts_with_error(
    make_pub: Publication, run: Run, args: tuple[str, ...], message: str
) -> None:
    root = make_pub()
    result = run(root, *args)
    assert result.exit_code in (1, 2)
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and message in first, result.stderr
    assert "Error:" not in result.stderr and "Usage:" not in result.stderr
