"""`validate` lists every problem at once (issue 13 items 15 and 16): symlinks out of content/,
schema and date errors together, body images without alt text, an unusable DKIM key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Publication, Run, article


def test_an_unknown_key_and_a_bad_date_are_reported_together(
    make_pub: Publication, run: Run
) -> None:
    text = '+++\ntitle = "T"\ndate = "last tuesday"\nsubtitel = "typo"\n+++\nBody.\n'
    root = make_pub({"both.md": text})
    result = run(root, "validate")
    assert result.exit_code == 1, result.output
    assert "content/both.md:3: date" in result.stderr, result.stderr
    assert "content/both.md:4: " in result.stderr and "subtitel" in result.stderr
    assert "Traceback" not in result.output


def test_plain_validate_warns_about_body_images_without_alt(
    make_pub: Publication, run: Run
) -> None:
    body = "Intro.\n\n![](https://news.test/a.png)\n"
    root = make_pub({"img.md": article(body=body)})
    result = run(root, "validate")
    assert result.exit_code == 0, result.output  # a warning, not a failure
    assert "content/img.md" in result.stderr and "alt" in result.stderr, result.stderr
    assert "warning" in result.stderr


@pytest.mark.parametrize("mode", [0o644, None])
def test_validate_checks_the_dkim_key_as_the_send_reads_it(
    make_pub: Publication, run: Run, mode: int | None
) -> None:
    root = make_pub(
        {"a.md": article()},
        email='[email.dkim]\nselector = "mail"\nkey_file = "keys/dkim.pem"\n',
    )
    if mode is not None:
        key = root / "keys" / "dkim.pem"
        key.parent.mkdir()
        key.write_text("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
        key.chmod(mode)
    result = run(root, "validate")
    assert result.exit_code == 1, result.output
    assert "config.toml" in result.stderr and "key_file" in result.stderr, result.stderr
    if mode is not None:
        assert "chmod 600" in result.stderr


@pytest.mark.parametrize("command", ["validate", "build"])
def test_a_symlinked_file_from_outside_content_is_refused(
    make_pub: Publication, run: Run, tmp_path: Path, command: str
) -> None:
    secret = tmp_path / "outside.md"
    secret.write_text(article(title="Private notes"), encoding="utf-8")
    root = make_pub({"ok.md": article(title="Fine"), "inner/real.md": article(title="Real")})
    (root / "content" / "leak.md").symlink_to(secret)
    (root / "content" / "alias.md").symlink_to(root / "content" / "inner" / "real.md")
    result = run(root, command)
    assert result.exit_code == 1, result.output
    assert "content/leak.md" in result.stderr and "outside the content folder" in result.stderr
    assert "alias.md" not in result.stderr  # a link that stays inside content/ is fine
    assert not (root / "feeds" / "rss.xml").exists()
