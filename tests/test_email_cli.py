"""``syndicate email`` as an editor uses it: preview files, messages, exit codes."""

from __future__ import annotations

import shutil
from email import policy
from email.parser import BytesParser
from pathlib import Path

from syndicate.config import load_config
from syndicate.edition.state import (
    list_editions,
    load_edition,
    mark_sent,
    open_state,
)
from tests.conftest import REPO, Publication, Run, article

NOW = "2026-11-25T09:00:00+01:00"


def demo(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    root.mkdir()
    shutil.copy(REPO / "config.toml", root / "config.toml")
    shutil.copytree(REPO / "content", root / "content")
    return root


def test_preview_writes_html_text_and_eml(tmp_path: Path, run: Run) -> None:
    root = demo(tmp_path)
    result = run(root, "email", "--now", NOW)
    assert result.exit_code == 0, result.output
    folder = root / "newsletter"
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["2026-11-25.eml", "2026-11-25.html", "2026-11-25.txt"]
    out = result.stdout
    assert "edition 2026-11-25: 9 articles" in out
    assert "subject: The Example Dispatch: Sponge cities" in out
    assert str(folder / "2026-11-25.html") in out and " KB)" in out
    assert "To: subscriber@example.invalid" in out
    message = BytesParser(policy=policy.default).parsebytes(
        (folder / "2026-11-25.eml").read_bytes()
    )
    assert message["To"] == "subscriber@example.invalid"
    for subtype, suffix in (("html", "html"), ("plain", "txt")):
        part = message.get_body((subtype,))
        assert part is not None
        content = part.get_content().replace("\r\n", "\n").rstrip("\n")
        assert content == (folder / f"2026-11-25.{suffix}").read_text("utf-8").rstrip("\n")
    [draft] = list_editions(open_state(load_config(root / "config.toml")))
    assert draft.id == "2026-11-25" and draft.status == "draft"


def test_preview_twice_changes_nothing(tmp_path: Path, run: Run) -> None:
    root = demo(tmp_path)
    assert run(root, "email", "--now", NOW).exit_code == 0
    eml = root / "newsletter" / "2026-11-25.eml"
    before = (eml.read_bytes(), eml.stat().st_mtime_ns)
    assert run(root, "email", "--now", NOW).exit_code == 0
    assert (eml.read_bytes(), eml.stat().st_mtime_ns) == before


def test_nothing_new_is_a_clear_message_and_exit_0(make_pub: Publication, run: Run) -> None:
    root = make_pub({"x.md": article("Only one", date="2026-11-20T08:00:00+01:00")})
    out = tmp_out = root / "preview"
    assert run(root, "email", "--now", NOW, "--out", str(out)).exit_code == 0
    config = load_config(root / "config.toml")
    conn = open_state(config)
    [record] = list_editions(conn)
    mark_sent(conn, load_edition(config, record))
    shutil.rmtree(tmp_out)
    result = run(root, "email", "--now", NOW, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "nothing to send" in result.stdout
    assert not out.exists(), "no empty email is written"


def test_article_and_since_choose_the_articles(make_pub: Publication, run: Run) -> None:
    articles = {
        "a.md": article("Alpha", date="2026-11-01T08:00:00+01:00", slug="alpha"),
        "b.md": article("Bravo", date="2026-11-20T08:00:00+01:00", slug="bravo"),
        "c.md": article("Charlie", date="2026-11-24T08:00:00+01:00", slug="charlie"),
    }
    root = make_pub(articles)
    result = run(root, "email", "--now", NOW, "--article", "alpha", "--article", "bravo")
    assert result.exit_code == 0, result.output
    assert "2 articles" in result.stdout and "subject: Test Times: Bravo" in result.stdout
    result = run(root, "email", "--now", NOW, "--since", "7d")
    assert result.exit_code == 0, result.output
    assert "2 articles" in result.stdout and "subject: Test Times: Charlie" in result.stdout
    text = (root / "newsletter" / "2026-11-25.txt").read_text(encoding="utf-8")
    assert "Bravo" in text and "Alpha" not in text


def test_unknown_article_is_an_error(make_pub: Publication, run: Run) -> None:
    root = make_pub({"x.md": article("Hi")})
    result = run(root, "email", "--now", NOW, "--article", "missing")
    assert result.exit_code == 1
    assert "no article with slug 'missing'" in result.stderr


def test_big_edition_warns_about_gmail_clipping(make_pub: Publication, run: Run) -> None:
    paragraph = "A paragraph of reporting that fills the page with words. " * 30
    body = "\n\n".join([paragraph] * 6)
    articles = {
        f"{n:02d}.md": article(f"Story {n}", date=f"2026-11-{n + 1:02d}T08:00:00+01:00", body=body)
        for n in range(12)
    }
    root = make_pub(articles, email="full_content = true\nmax_articles = 12")
    result = run(root, "email", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "Gmail clips messages over 102 KB" in result.stderr


def test_image_without_alt_is_a_warning(make_pub: Publication, run: Run) -> None:
    root = make_pub({"x.md": article("Pictured", image="https://news.test/a.jpg")})
    result = run(root, "email", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "image has no alt text" in result.stderr
    html = (root / "newsletter" / "2026-11-25.html").read_text(encoding="utf-8")
    assert 'alt="" ' in html or 'alt=""' in html


def test_email_help_names_the_options(run: Run) -> None:
    result = run(None, "email", "--help")
    assert result.exit_code == 0
    for option in ("--since", "--article", "--out", "--open", "--now"):
        assert option in result.output
