"""`syndicate report`: an edition sent to a real SMTP sink with injected failures, a folder of
bounce notifications processed, readers unsubscribing and clicking through the running app;
the report's numbers must match what the sink received and what the fixtures say.

The HTML page must pass the W3C Nu checker (vnu.jar, skipped with the reason when java or
the jar is missing) and must not scroll sideways at 375 px in headless Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syndicate.cli import cli
from syndicate.delivery import ledger
from syndicate.delivery.ledger import RowState
from syndicate.store.database import connect
from tests import nu_checker
from tests.chromium import measure, needs_chromium
from tests.conftest import BASE_CONFIG, article
from tests.sending import LATER, NOW, SECOND, SECRET, add_many, address, config_of, smtp_pub
from tests.smtp_server import Faults, SmtpSink
from tests.web_server import http_request, waitress_server

FIXTURES = Path(__file__).parent / "fixtures" / "report-bounces"
READERS = 20
REFUSED = {address(3), address(4)}  # 550 5.1.1 at RCPT: failed, and a hard bounce each
LINKED = {
    "park.md": article(
        "Council approves the river park",
        date="2026-11-16T09:00:00+01:00",
        summary="The vote was close.",
        body="Text.\n",
    )
}
CLICK = re.compile(r'href="https://news\.test(/c/[^"]+)"')
TOKEN = re.compile(r"token=([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


@dataclass
class Scenario:
    """What the test did, to compare the report against."""

    root: Path
    edition: str
    sink_delivered: set[str]  # recipients whose message the sink stored, not uncertain
    uncertain: set[str]
    deferred: int  # 451s the sink answered (no in-run retries)
    bounce_notices: dict[str, set[str]]  # kind -> addresses in the fixture folder
    unsubscribed: set[str]
    clicks: dict[str, int]  # click path -> times followed
    first_report: dict[str, object]  # `report EDITION --json` right after the first send


def invoke(root: Path, *args: str) -> Result:
    runner = CliRunner()
    return runner.invoke(
        cli, ["--config", str(root / "config.toml"), *args], obj={}, catch_exceptions=False
    )


def fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def write_notices(folder: Path, rows: dict[str, tuple[str, str]]) -> None:
    """Each fixture template, filled for one recipient and the Message-ID they were sent."""
    folder.mkdir()
    now = format_datetime(datetime.now(UTC))
    for serial, (name, (email, message_id)) in enumerate(rows.items()):
        text = (FIXTURES / name).read_text(encoding="utf-8")
        filled = fill(text, RECIPIENT=email, MESSAGE_ID=message_id, SERIAL=str(serial), DATE=now)
        (folder / name).write_text(filled, encoding="utf-8")


def pub_maker(base: Path) -> Callable[..., Path]:
    """A ``make_pub`` for fixtures wider than one test (conftest's is per test)."""

    def make_pub(
        articles: dict[str, str | bytes], *, name: str, email: str, extra: str, **_: str
    ) -> Path:
        root = base / name
        (root / "content").mkdir(parents=True)
        (root / "config.toml").write_text(
            BASE_CONFIG.format(feeds="", email=email, extra=extra), encoding="utf-8"
        )
        for filename, text in articles.items():
            (root / "content" / filename).write_text(str(text), encoding="utf-8")
        return root

    return make_pub


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNDICATE_SECRET", SECRET)
        make_pub = pub_maker(tmp_path_factory.mktemp("report"))
        faults = Faults(bounce=set(REFUSED), tempfail_every_rcpt=7, drop_after_data={5})
        with SmtpSink(faults) as sink:
            root = smtp_pub(
                make_pub,
                sink.port,
                connections=1,
                retries=0,
                articles=LINKED,
                extra="[tracking]\nclicks = true\n",
            )
            add_many(root, READERS)
            result = invoke(root, "email", "--send", "--yes", "--now", NOW)
            assert result.exit_code == 3, result.output  # deferred and uncertain rows remain
            yield from _after_send(root, sink, patch)


def _after_send(root: Path, sink: SmtpSink, patch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    conn = connect(config_of(root).state_db)
    [summary] = ledger.editions(conn)
    rows = {row.email: row for row in ledger.rows(conn, summary.edition)}
    conn.close()
    uncertain = {e for e, row in rows.items() if row.state is RowState.SENDING}
    stored = {r.lower() for mail in sink.messages for r in mail.recipients}
    delivered = stored - uncertain
    assert {e for e, row in rows.items() if row.state is RowState.SENT} == delivered
    assert len(uncertain) == 1 and sink.handler.tempfails >= 2

    # Bounce processing: a folder of notifications about four delivered readers.
    hard, soft, complaint, quiet = sorted(delivered)[:4]
    notices = {
        "hard.eml": (hard, rows[hard].message_id),
        "soft.eml": (soft, rows[soft].message_id),
        "complaint.eml": (complaint, rows[complaint].message_id),
        "hard-without-message-id.eml": (quiet, ""),
    }
    folder = root / "notices"
    write_notices(folder, notices)
    result = invoke(root, "bounces", "process", str(folder))
    assert result.exit_code == 0, result.output

    # Two readers leave: one with the one-click button of their email, one by the editor.
    leaving = sorted(delivered - {hard, soft, complaint, quiet})[:2]
    mail = next(m for m in sink.messages if leaving[0] in m.recipients)
    html_part = mail.message.get_body(("html",))
    assert html_part is not None
    body = html_part.get_content()
    token = TOKEN.search(body)
    assert token is not None
    clicks: dict[str, int] = {}
    with waitress_server(config_of(root)) as port:
        status, _, _ = http_request(
            port,
            "POST",
            f"/unsubscribe?token={token.group(1)}",
            body=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 200
        links = sorted(set(CLICK.findall(body)))
        for times, path in zip((3, 1), links, strict=False):
            for _ in range(times):
                assert http_request(port, "GET", path)[0] == 302
            clicks[path] = times
    result = invoke(root, "subscribers", "unsubscribe", leaving[1])
    assert result.exit_code == 0, result.output

    result = invoke(root, "report", summary.edition, "--json")
    assert result.exit_code == 0, result.output
    yield Scenario(
        root=root,
        edition=summary.edition,
        sink_delivered=delivered,
        uncertain=uncertain,
        deferred=sink.handler.tempfails,
        bounce_notices={"hard": {hard, quiet}, "soft": {soft}, "complaint": {complaint}},
        unsubscribed=set(leaving),
        clicks=clicks,
        first_report=json.loads(result.stdout),
    )


def edition_of(report: dict[str, object], edition: str) -> dict[str, object]:
    editions = report["editions"]
    assert isinstance(editions, list)
    return next(e for e in editions if e["edition"] == edition)


def test_numbers_match_the_sink_and_the_bounce_fixtures(scenario: Scenario) -> None:
    numbers = edition_of(scenario.first_report, scenario.edition)
    assert numbers["recipients"] == READERS
    assert numbers["delivered"] == len(scenario.sink_delivered)
    assert numbers["failed"] == len(REFUSED)
    assert numbers["uncertain"] == len(scenario.uncertain) == 1
    assert numbers["deferred"] == scenario.deferred
    assert (
        numbers["delivered"] + numbers["failed"] + numbers["uncertain"] + numbers["deferred"]
        == READERS
    )
    # Refusals during the send are hard bounces too; the fixtures add theirs.
    hard = len(REFUSED) + len(scenario.bounce_notices["hard"])
    assert numbers["bounces"] == {
        "hard": hard,
        "soft": len(scenario.bounce_notices["soft"]),
        "complaints": len(scenario.bounce_notices["complaint"]),
    }
    assert numbers["unsubscribes"] == len(scenario.unsubscribed) == 2
    clicks = numbers["clicks"]
    assert isinstance(clicks, dict)
    assert clicks["total"] == sum(scenario.clicks.values()) == 4
    counted = sorted(link["clicks"] for link in clicks["links"])
    assert counted[-2:] == [1, 3] and sum(counted) == 4
    assert {link["url"] for link in clicks["links"]} == {"https://news.test", "https://news.test/park/"}
    send = numbers["send"]
    assert isinstance(send, dict)
    assert send["runs"] == 1
    assert send["handed_over"] == len(scenario.sink_delivered) + len(REFUSED)
    assert send["seconds"] > 0 and send["per_second"] > 0


def test_terminal_report_shows_the_same_numbers(scenario: Scenario) -> None:
    result = invoke(scenario.root, "report", scenario.edition)
    assert result.exit_code == 0, result.output
    out = result.stdout
    numbers = edition_of(scenario.first_report, scenario.edition)
    for label in ("recipients", "delivered", "deferred", "failed", "uncertain"):
        assert re.search(rf"^{label}\s+{numbers[label]}$", out, re.MULTILINE), (label, out)
    assert re.search(r"^hard bounces\s+4$", out, re.MULTILINE), out
    assert re.search(r"^unsubscribes\s+2 \(", out, re.MULTILINE), out
    assert re.search(r"^\s+3\s+https://", out, re.MULTILINE), out
    assert "messages/s" in out


@pytest.fixture(scope="module")
def second_sent(scenario: Scenario) -> int:
    """Finish the first edition, then send a second one to a grown list; how many messages
    that took."""
    root = scenario.root
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNDICATE_SECRET", SECRET)
        with SmtpSink() as sink:
            text = (root / "config.toml").read_text(encoding="utf-8")
            (root / "config.toml").write_text(
                re.sub(r"port = \d+", f"port = {sink.port}", text), encoding="utf-8"
            )
            assert invoke(root, "email", "--send", "--yes", "--skip-uncertain").exit_code == 0
            add_many(root, 3, start=READERS)
            (root / "content" / "second.md").write_text(SECOND, encoding="utf-8")
            result = invoke(root, "email", "--send", "--yes", "--now", LATER)
            assert result.exit_code == 0, result.output
            return len(sink.messages)


def test_trend_over_two_editions(scenario: Scenario, second_sent: int) -> None:
    root = scenario.root
    result = invoke(root, "report", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    first, second = report["editions"]
    assert first["edition"] == scenario.edition and first["send"]["runs"] == 2
    assert first["deferred"] == 0 and first["uncertain"] == 0 and first["skipped"] == 1
    # Everyone still active got the second edition: 20 + 3 new - 2 unsubscribed - suppressed.
    suppressed = len(REFUSED) + 2 + 1  # refused, the two hard bounces, the complaint
    assert second["recipients"] == READERS + 3 - 2 - suppressed
    # The second sink got the first edition's deferred readers, then the whole second edition.
    assert second["delivered"] == second["recipients"]
    assert second_sent == scenario.deferred + second["recipients"]
    trend = report["trend"]
    assert [t["growth"] for t in trend] == [0, second["recipients"] - first["recipients"]]
    assert trend[0]["bounce_rate"] == pytest.approx((4 + 1) / READERS)
    assert trend[0]["unsubscribe_rate"] == pytest.approx(2 / first["delivered"])
    assert report["detail"] == [second["edition"]]
    result = invoke(root, "report")
    assert "trend over the last 2 editions" in result.stdout


def test_unknown_edition_and_bad_options_are_clear(scenario: Scenario) -> None:
    result = invoke(scenario.root, "report", "1999-01-01")
    assert result.exit_code == 1
    assert "no sent edition '1999-01-01'" in result.stderr and scenario.edition in result.stderr
    result = invoke(scenario.root, "report", "latest", "--since", "7d")
    assert result.exit_code == 2 and "not both" in result.stderr
    result = invoke(scenario.root, "report", "--newsletter", "climate")
    assert result.exit_code == 1 and "one newsletter" in result.stderr


@pytest.fixture(scope="module")
def pages(
    scenario: Scenario, second_sent: int, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """The first edition's page, and the newest edition's with the trend over both."""
    folder = tmp_path_factory.mktemp("pages")
    first, latest = folder / "report.html", folder / "trend.html"
    for path, args in ((first, (scenario.edition,)), (latest, ())):
        result = invoke(scenario.root, "report", *args, "--html", str(path))
        assert result.exit_code == 0, result.output
    return first, latest


def test_html_page_is_self_contained_and_has_the_numbers(pages: tuple[Path, Path]) -> None:
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text.lower() and "javascript" not in text.lower()
        assert not re.search(r'(?:src|href)="(?!data:)', text), "the page fetches something"
        assert text.count('<img src="data:image/svg+xml;base64,') >= 3
    first, latest = (page.read_text(encoding="utf-8") for page in pages)
    assert "<dt>Hard bounces</dt><dd>4</dd>" in first
    assert "https://news.test/park/" in first
    assert "Trend over the last 2 editions" in latest and "Recipients per edition" in latest


def test_html_page_passes_the_nu_checker(pages: tuple[Path, Path]) -> None:
    jar = nu_checker.locate()
    if isinstance(jar, str):
        pytest.skip(jar)
    assert nu_checker.problems(jar, *pages) == []


PROBE = """\
<html><body style="margin:0">
<iframe id="f" src="report.html" style="width:375px;height:3000px;border:0"></iframe>
<script>
document.getElementById("f").onload = function () {
  var d = this.contentDocument;
  var right = Array.from(d.querySelectorAll("img,dl,h2"))
    .map(function (e) { return Math.ceil(e.getBoundingClientRect().right); });
  document.body.setAttribute("data-probe",
    d.documentElement.scrollWidth + " " + d.defaultView.innerWidth + " " + right.join(","));
};
</script></body></html>
"""


@needs_chromium
@pytest.mark.parametrize("which", [0, 1], ids=["edition", "trend"])
def test_html_page_does_not_scroll_sideways_at_375px(
    pages: tuple[Path, Path], which: int, tmp_path: Path
) -> None:
    shutil.copy(pages[which], tmp_path / "report.html")
    (tmp_path / "probe.html").write_text(PROBE, encoding="utf-8")
    scroll_width, viewport, edges = measure(tmp_path / "probe.html")
    assert viewport == 375
    assert scroll_width <= 375, "the report scrolls sideways on a phone"
    assert len(edges) >= 5 and max(edges) <= 375, edges



def test_the_library_api_gives_the_same_report(scenario: Scenario) -> None:
    from syndicate import Publication

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNDICATE_SECRET", SECRET)
        result = Publication.load(scenario.root).report(scenario.edition)
    cli = invoke(scenario.root, "report", scenario.edition, "--json")
    assert result.as_dict() == json.loads(cli.stdout)


def test_since_and_last_choose_the_editions(scenario: Scenario) -> None:
    def editions(*args: str) -> list[str]:
        result = invoke(scenario.root, "report", "--json", *args)
        assert result.exit_code == 0, result.output
        return [e["edition"] for e in json.loads(result.stdout)["editions"]]

    every = editions("--since", "2000-01-01")
    assert every[0] == scenario.edition
    assert editions("--since", "2999-01-01") == []
    assert editions("--last", "1") == every[-1:]
    assert editions(scenario.edition, "--last", "1") == [scenario.edition]
    result = invoke(scenario.root, "report", "--since", "2999-01-01")
    assert "none has been sent (in the period asked about)" in result.stdout


def test_correction_notices_are_not_editions(tmp_path: Path) -> None:
    from tests.test_corrections import CORRECTED

    with pytest.MonkeyPatch.context() as patch, SmtpSink() as sink:
        patch.setenv("SYNDICATE_SECRET", SECRET)
        root = smtp_pub(pub_maker(tmp_path), sink.port)
        add_many(root, 3)
        assert invoke(root, "email", "--send", "--yes", "--now", NOW).exit_code == 0
        (root / "content" / "first.md").write_text(CORRECTED, encoding="utf-8")
        result = invoke(root, "email", "--correction", "first", "--send", "--yes", "--now", LATER)
        assert result.exit_code == 0, result.output
        assert len(sink.messages) == 6  # the edition, then a notice, to each reader
        leaving = invoke(root, "subscribers", "unsubscribe", address(0))
        assert leaving.exit_code == 0, leaving.output
        report = json.loads(invoke(root, "report", "--json").stdout)
    [edition] = report["editions"]
    assert edition["recipients"] == edition["delivered"] == 3
    # The reader left after the notice: still counted for the edition they were sent.
    assert edition["unsubscribes"] == 1
