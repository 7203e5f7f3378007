"""The CLI of several newsletters: config errors that name the key, `newsletters`,
`subscribers add/list --newsletter`, the CSV `newsletters` column and attributes, `email
--newsletter` (preview, refusals, a segment send over real SMTP) and `validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, Publication, Run
from tests.newsletters_fixture import NEWSLETTERS, SECRET, make_newsletters_pub
from tests.smtp_server import smtp_server

NOW = "2026-11-13T09:00:00+01:00"  # Friday of the first week: days 0-4 are published


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            '[newsletters.daily]\ntitle = "D"\ndefault = true\ncolour = "red"\n',
            "newsletters.daily.colour: unknown key",
        ),
        (
            '[newsletters.Daily]\ntitle = "D"\ndefault = true\n',
            "[newsletters.Daily]: not a newsletter id",
        ),
        ('[newsletters.daily]\ntitle = "D"\n', "no newsletter has default = true"),
        (
            '[newsletters.daily]\ntitle = "D"\ndefault = true\ncadences = ["hourly"]\n',
            "newsletters.daily.cadences: expected 'immediate', 'daily' or 'weekly'",
        ),
        (
            '[newsletters.daily]\ntitle = "D"\ndefault = true\nschedule = "sometimes"\n',
            "newsletters.daily.schedule: not a schedule",
        ),
        (
            '[newsletters.daily]\ntitle = "D"\ndefault = true\ntime = "7am"\n',
            "newsletters.daily.time: not a time of day",
        ),
        (
            '[newsletters.daily]\ntitle = "D"\ndefault = true\nfrom = "nobody"\n',
            "newsletters.daily.from: not an email address",
        ),
        (
            '[newsletters.daily]\ntitle = "D"\ndefault = true\ntemplate = "../x"\n',
            "newsletters.daily.template: not a template name",
        ),
        (
            "[newsletters.daily]\ndefault = true\n",
            "newsletters.daily.title: required key is missing",
        ),
    ],
)
def test_config_errors_name_the_key(
    make_pub: Publication, run: Run, table: str, expected: str
) -> None:
    root = make_pub({}, extra=table)
    result = run(root, "validate")
    assert result.exit_code == 1
    assert expected in result.stderr, result.stderr
    assert "config.toml:" in result.stderr and "Traceback" not in result.stderr


def test_one_newsletter_publications_refuse_newsletter_options(
    make_pub: Publication, run: Run
) -> None:
    root = make_pub({})
    result = run(root, "subscribers", "add", "a@example.com", "--newsletter", "daily")
    assert result.exit_code == 1 and "no [newsletters]" in result.stderr
    result = run(root, "email", "--newsletter", "daily")
    assert result.exit_code == 2 and "need [newsletters]" in result.stderr
    assert "one newsletter" in run(root, "newsletters").output


def test_email_needs_a_newsletter_named(make_pub: Publication, run: Run) -> None:
    root = make_newsletters_pub(make_pub, 2525)
    result = run(root, "email", "--now", NOW)
    assert result.exit_code == 2
    assert "several newsletters (daily, climate, alerts)" in result.stderr
    result = run(root, "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 2 and "sending needs --newsletter ID" in result.stderr
    result = run(root, "email", "--newsletter", "sports", "--now", NOW)
    assert result.exit_code == 1 and "unknown newsletter 'sports'" in result.stderr
    result = run(
        root, "email", "--newsletter", "climate", "--now", NOW, "--out", str(root / "prev")
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "edition climate-weekly-2026-11-13: 2 articles" in result.output
    assert "subject: Test Times: Story 03" in result.output


def test_subscribers_and_the_newsletters_listing(make_pub: Publication, run: Run) -> None:
    root = make_newsletters_pub(make_pub, 2525)
    assert run(root, "subscribers", "add", "ann@example.com").exit_code == 0
    result = run(
        root,
        "subscribers",
        "add",
        "ben@example.com",
        "--newsletter",
        "climate",
        "--newsletter",
        "alerts",
        "--cadence",
        "daily",
        "--attr",
        "city=Berlin",
    )
    assert result.exit_code == 0, result.stderr
    assert "ben@example.com: newsletters climate alerts" in result.output
    result = run(root, "subscribers", "add", "x@example.com", "--newsletter", "sports")
    assert result.exit_code == 1 and "unknown newsletter 'sports'" in result.stderr
    result = run(
        root, "subscribers", "add", "x@example.com", "--newsletter", "alerts", "--cadence", "weekly"
    )
    assert result.exit_code == 1 and "offers no cadence 'weekly'" in result.stderr
    result = run(root, "subscribers", "unsubscribe", "ann@example.com", "--newsletter", "alerts")
    assert result.exit_code == 0 and "unsubscribed from alerts: ann@example.com" in result.output
    listed = run(root, "subscribers", "list", "--newsletter", "climate").output.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["ben@example.com"]
    assert listed[0].endswith("\talerts climate:daily")
    assert (
        run(root, "subscribers", "list", "--where", "city=Berlin", "--count").output
        == "active\t1\n"
    )
    shown = run(root, "newsletters", "--now", NOW).output
    assert "daily\tTest Times: Daily (default)\n  1 active subscriber (schedule 1)" in shown
    assert "climate\tClimate Weekly\n  1 active subscriber (daily 1)" in shown
    assert "next due: 2026-11-14 07:00 CET" in shown  # daily at 07:00
    assert "every publish run with new articles" in shown  # alerts: on-new


def test_csv_newsletters_column_and_attributes_round_trip(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_newsletters_pub(make_pub, 2525)
    source = tmp_path / "list.csv"
    source.write_text(
        "email,name,newsletters,city,plan\n"
        "ann@example.com,Ann,,Berlin,pro\n"
        "ben@example.com,Ben,climate alerts,Hamburg,\n"
        "bad@example.com,Bad,daily sports,Berlin,\n",
        encoding="utf-8",
    )
    result = run(root, "subscribers", "import", str(source))
    assert result.exit_code == 1
    assert f"{source}:4: unknown newsletter 'sports'" in result.stderr
    assert "imported 2 new subscribers" in result.output
    exported = run(root, "subscribers", "export", "-").output.splitlines()
    assert exported[0] == "email,name,status,reason,source,created,updated,newsletters,city,plan"
    rows = {line.split(",")[0]: line.split(",") for line in exported[1:]}
    assert rows["ann@example.com"][7:] == ["daily", "Berlin", "pro"]
    assert rows["ben@example.com"][7:] == ["alerts climate", "Hamburg", ""]
    # The export imports again into another publication, newsletters and attributes kept.
    (tmp_path / "out.csv").write_text("\n".join(exported) + "\n", encoding="utf-8")
    again = make_pub({}, name="other", extra=NEWSLETTERS)
    assert run(again, "subscribers", "import", str(tmp_path / "out.csv")).exit_code == 0
    assert run(again, "subscribers", "export", "-").output.splitlines()[1:] != []
    listed = run(again, "subscribers", "list", "--where", "city=Hamburg").output
    assert listed.startswith("ben@example.com\tBen\tactive") and listed.endswith(
        "\talerts climate\n"
    )


def test_segment_send_reaches_only_the_segment_and_the_rest_still_get_it(
    make_pub: Publication, run: Run
) -> None:
    with smtp_server() as inbox:
        root = make_newsletters_pub(make_pub, inbox.port)
        # Attributes in templates: a segment's shared values are `segment`.
        builtin = (REPO / "templates" / "email.txt.j2").read_text(encoding="utf-8")
        (root / "templates").mkdir()
        (root / "templates" / "email.txt.j2").write_text(
            "{% if segment.city %}News for {{ segment.city }}{% endif %}\n" + builtin,
            encoding="utf-8",
        )
        for address, city in (("b1@example.com", "Berlin"), ("h1@example.com", "Hamburg")):
            result = run(
                root,
                "subscribers",
                "add",
                address,
                "--newsletter",
                "climate",
                "--cadence",
                "weekly",
                "--attr",
                f"city={city}",
            )
            assert result.exit_code == 0, result.stderr
        result = run(
            root,
            "email",
            "--newsletter",
            "climate",
            "--send",
            "--yes",
            "--where",
            "city=Berlin",
            "--now",
            NOW,
        )
        assert result.exit_code == 0, result.output + result.stderr
        assert [m.recipients for m in inbox.messages] == [("b1@example.com",)]
        result = run(root, "email", "--newsletter", "climate", "--send", "--yes", "--now", NOW)
        assert result.exit_code == 0, result.output + result.stderr
        assert sorted(r for m in inbox.messages for r in m.recipients) == [
            "b1@example.com",
            "h1@example.com",
        ]
        again = run(root, "email", "--newsletter", "climate", "--send", "--yes", "--now", NOW)
        assert "nothing to send" in again.output
    first, second = (m.message.get_body(("plain",)).get_content() for m in inbox.messages)
    assert "Story 00" in first and "Story 03" in first and "News for Berlin" in first
    assert "Story 00" in second and "Story 03" in second and "News for" not in second


def test_validate_reports_subscriptions_of_a_removed_newsletter(
    make_pub: Publication, run: Run
) -> None:
    root = make_newsletters_pub(make_pub, 2525)
    assert run(root, "subscribers", "add", "a@example.com", "--newsletter", "alerts").exit_code == 0
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text[: text.index("[newsletters.alerts]")], encoding="utf-8")
    result = run(root, "validate")
    assert result.exit_code == 0, result.stderr
    assert "'alerts' is not in the config" in result.stderr
    assert "1 active subscription" in result.stderr
    assert "'alerts' is no longer in the config" in run(root, "newsletters").stderr


def test_the_library_api_knows_the_newsletters(make_pub: Publication, run: Run) -> None:
    from syndicate import Publication as Library
    from syndicate.errors import UsageError

    root = make_newsletters_pub(make_pub, 2525)
    pub = Library.load(root / "config.toml")
    pub.add_subscriber("api@example.com", newsletters=["climate"], cadence="immediate")
    listed = run(root, "subscribers", "list", "--newsletter", "climate").output
    assert listed.startswith("api@example.com") and listed.endswith("\tclimate:immediate\n")
    with pytest.raises(UsageError, match="name one"):
        pub.next_edition(now=NOW)
    preview = pub.next_edition(now=NOW, newsletter="climate")
    assert preview is not None and preview.id == "climate-immediate-2026-11-13"
    assert b"https://news.test/preferences?newsletter=climate&token=preview" in preview.text


def test_report_filters_by_newsletter(make_pub: Publication, run: Run) -> None:
    root = make_newsletters_pub(make_pub, 2525)
    config = root / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('transport = "smtp"', 'transport = "file"'),
        encoding="utf-8",
    )
    args = ("--newsletter", "daily", "--newsletter", "climate")
    assert run(root, "subscribers", "add", "a@example.com", *args).exit_code == 0
    assert run(root, "publish", "--now", NOW).exit_code == 0
    climate = run(root, "report", "--newsletter", "climate")
    assert climate.exit_code == 0, climate.stderr
    assert climate.output.startswith("edition climate-weekly-2026-11-13:")
    assert "daily-" not in climate.output
    daily = run(root, "report", "--newsletter", "daily")
    assert daily.output.startswith("edition daily-2026-11-13:")
