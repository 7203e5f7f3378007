"""`syndicate validate --email`: every email lint problem is reported, and a clean edition passes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, Publication, Run, article

CLEAN = {
    "clean.md": article(
        "A clean article",
        body="Read [the report](https://news.test/report/) today.\n",
        summary="All links absolute.",
    )
}


def test_clean_edition_passes(make_pub: Publication, run: Run) -> None:
    root = make_pub(CLEAN)
    result = run(root, "validate", "--email")
    assert result.exit_code == 0, result.output + result.stderr
    assert "passes the email checks" in result.output


def test_every_problem_is_reported_and_exit_1(make_pub: Publication, run: Run) -> None:
    body = (
        "![](https://img.news.test/chart.png)\n\n"
        "See [the old page](http://old.news.test/page) and [the notes](/notes/).\n"
    )
    root = make_pub(
        {
            "bad.md": article(
                "Bad links",
                body=body,
                image={"url": "https://img.news.test/lead.jpg"},
            )
        },
        email="full_content = true",
    )
    config = root / "config.toml"
    config.write_text(
        config.read_text().replace('postal_address = "1 Test Street, Testville"\n', "")
    )
    # A template override that lost the footer's unsubscribe link.
    templates = root / "templates"
    templates.mkdir()
    source = (REPO / "templates" / "email.mjml.j2").read_text()
    assert "recipient.unsubscribe_url" in source
    (templates / "email.mjml.j2").write_text(
        source.replace(
            '<a href="{{ recipient.unsubscribe_url }}"', '<a href="https://news.test/"'
        ).replace(
            "</mj-body>",
            '<mj-section><mj-column><mj-text><a href="/about/">About</a>'
            "</mj-text></mj-column></mj-section></mj-body>",
        )
    )
    result = run(root, "validate", "--email")
    assert result.exit_code == 1
    err = result.stderr
    assert "content/bad.md: image 'https://img.news.test/chart.png' has empty alt text" in err
    assert "content/bad.md: image 'https://img.news.test/lead.jpg' has empty alt text" in err
    assert "link 'http://old.news.test/page' is not an absolute https URL" in err
    assert "link '/about/' is not an absolute https URL" in err
    assert "no unsubscribe link in the HTML body" in err
    assert "postal_address is empty" in err
    assert "problems found" in err


def test_oversized_html_is_an_error(make_pub: Publication, run: Run) -> None:
    paragraph = "This sentence pads the newsletter well past what Gmail shows. " * 40
    articles = {
        f"long-{n}.md": article(
            f"Long article {n}",
            date=f"2026-11-{n + 1:02d}T09:00:00+01:00",
            body="\n\n".join([paragraph] * 6),
        )
        for n in range(8)
    }
    root = make_pub(articles, email="full_content = true")
    result = run(root, "validate", "--email")
    assert result.exit_code == 1
    assert "over Gmail's 102 KB limit" in result.stderr


def test_nothing_new_checks_latest_articles(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub(CLEAN)
    # Mark everything sent: the lint still renders the latest articles.
    from syndicate.config import load_config
    from syndicate.content.when import parse_datetime
    from syndicate.edition.state import mark_sent, open_state, plan_edition

    config = load_config(root / "config.toml")
    now = parse_datetime("2026-11-20T09:00:00+01:00", config.publication.timezone)
    conn = open_state(config)
    edition = plan_edition(config, conn, now=now)
    assert edition is not None
    mark_sent(conn, edition, at=now)
    conn.close()
    result = run(root, "validate", "--email")
    assert result.exit_code == 0, result.stderr
    assert "passes the email checks" in result.output


def test_unusable_dkim_key_is_reported(make_pub: Publication, run: Run) -> None:
    root = make_pub(CLEAN, email='[email.dkim]\nselector = "s1"\nkey_file = "dkim.pem"\n')
    key = root / "dkim.pem"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\nnot really\n-----END RSA PRIVATE KEY-----\n")
    key.chmod(0o644)
    result = run(root, "validate", "--email")
    assert result.exit_code == 1
    assert "[email.dkim] key_file:" in result.stderr and "chmod 600" in result.stderr
