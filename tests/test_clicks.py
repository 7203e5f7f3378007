"""Click counting without tracking people, end to end: an edition sent to a real SMTP sink
with ``[tracking] clicks = true``, its links followed through the real WSGI app on waitress.

Only the aggregate counter of (edition, link) moves; the redirect goes to the exact URL the
article linked to; forged or altered click URLs get 404 and count nothing; the plain-text
part and (with tracking off) the whole message keep direct links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from syndicate.delivery.clicks import edition_links
from syndicate.store.database import connect
from tests.conftest import Publication, Run, article, table_names
from tests.sending import NOW, SECRET, add_many, config_of, smtp_pub
from tests.smtp_server import SmtpSink
from tests.web_server import http_request, waitress_server

pytestmark = pytest.mark.both_backends

PLAN = "https://city.test/plan?year=2026&draft=no#budget"
MAP_AS_WRITTEN = "https://maps.test/river-park/Straße?z=14"
MAP = "https://maps.test/river-park/Stra%C3%9Fe?z=14"  # as the article's HTML links it
MAILTO = "mailto:desk@news.test"
LINKED = {
    "park.md": article(
        "Council approves the river park",
        date="2026-11-16T09:00:00+01:00",
        summary="The vote was close.",
        body=(
            f"Read [the plan]({PLAN}) and [the map](<{MAP_AS_WRITTEN}>).\n\n"
            f"Write to [the desk]({MAILTO}). The [plan again]({PLAN}).\n"
        ),
    )
}
FULL = "full_content = true\n"
TRACKING = "[tracking]\nclicks = true\n"
ARTICLE = "https://news.test/park/"
ARCHIVE = "https://news.test"  # the masthead links home
CLICK = re.compile(r'href="(https://news\.test/c/[^"]+)"')


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def send(run: Run, root: Path) -> None:
    result = run(root, "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 0, result.output


def parts(sink: SmtpSink) -> list[tuple[str, str]]:
    """(html, text) of every message the sink received."""
    found = []
    for mail in sink.messages:
        html_part = mail.message.get_body(("html",))
        text_part = mail.message.get_body(("plain",))
        assert html_part is not None and text_part is not None
        found.append((html_part.get_content(), text_part.get_content()))
    return found


def dump(root: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the state database."""
    conn = connect(config_of(root).state_target)
    try:
        names = sorted(table_names(conn))
        # Rows as tuples: a sqlite3.Row's repr is its address, which would sort them at random.
        return {
            name: sorted((tuple(row) for row in conn.execute(f"SELECT * FROM {name}")), key=repr)
            for name in names
        }
    finally:
        conn.close()


def counts(root: Path) -> dict[str, int]:
    conn = connect(config_of(root).state_target)
    try:
        editions = [r[0] for r in conn.execute("SELECT DISTINCT edition FROM tracked_links")]
        return {link.url: link.clicks for e in editions for link in edition_links(conn, e)}
    finally:
        conn.close()


@pytest.fixture
def tracked(make_pub: Publication, run: Run) -> Iterator[tuple[Path, SmtpSink, list[str]]]:
    """A tracked edition sent to three readers; yields root, sink and the click URLs."""
    with SmtpSink() as sink:
        root = smtp_pub(make_pub, sink.port, extra=TRACKING, articles=LINKED, email_keys=FULL)
        add_many(root, 3)
        send(run, root)
        assert len(sink.messages) == 3
        bodies = parts(sink)
        yield root, sink, sorted(set(CLICK.findall(bodies[0][0])))


def test_html_links_go_through_the_redirector_and_text_keeps_direct_links(
    tracked: tuple[Path, SmtpSink, list[str]],
) -> None:
    root, sink, clicks = tracked
    bodies = parts(sink)
    # the plan (twice in the article), the map, the article and home; not the mailto
    assert len(clicks) == 4
    for html_part, text_part in bodies:
        # Every reader gets the same click URLs: nothing in them says who clicked.
        assert sorted(set(CLICK.findall(html_part))) == clicks
        hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', html_part)]
        assert PLAN not in hrefs and MAP not in hrefs
        assert MAILTO in hrefs
        assert any("/unsubscribe?token=" in h for h in hrefs)  # per-reader links untouched
        assert PLAN in text_part and MAP in text_part and "/c/" not in text_part
        assert "<img" not in html_part or "/c/" not in re.sub(r"<a\b[^>]*>", "", html_part)
    assert counts(root) == {PLAN: 0, MAP: 0, ARTICLE: 0, ARCHIVE: 0}


def test_clicks_redirect_exactly_and_count_only_in_aggregate(
    tracked: tuple[Path, SmtpSink, list[str]],
) -> None:
    root, _, clicks = tracked
    targets = {}
    with waitress_server(config_of(root)) as port:
        assert http_request(port, "GET", "/")[0] == 200  # the app's own start-up tables
        before = dump(root)
        for url in clicks * 3:
            path = url.removeprefix("https://news.test")
            status, headers, _ = http_request(
                port, "GET", path, headers={"User-Agent": "Reader/1.0", "X-Forwarded-For": "1.2.3.4"}
            )
            assert status == 302, path
            targets[url] = headers["location"]
            assert headers["referrer-policy"] == "no-referrer"
        status, headers, _ = http_request(port, "HEAD", clicks[0].removeprefix("https://news.test"))
        assert status == 302  # a link checker's HEAD is answered but not counted
    # The exact URL each link had in the edition, byte for byte.
    assert sorted(set(targets.values())) == sorted({PLAN, MAP, ARTICLE, ARCHIVE})
    assert counts(root) == {PLAN: 3, MAP: 3, ARTICLE: 3, ARCHIVE: 3}
    after = dump(root)
    # Nothing but the counters changed: no new row anywhere, no address, no browser.
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"tracked_links"}
    assert len(after["tracked_links"]) == len(before["tracked_links"]) == 4
    text = repr(after)
    assert "1.2.3.4" not in text and "Reader/1.0" not in text and "127.0.0.1" not in text


def test_forged_and_altered_click_urls_get_404(
    tracked: tuple[Path, SmtpSink, list[str]],
) -> None:
    root, _, clicks = tracked
    plan, other = (url.removeprefix("https://news.test") for url in clicks[:2])
    _, _, edition, link_id, signature = plan.split("/")
    _, _, _, other_id, other_signature = other.split("/")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    forged = [
        f"/c/{edition}/{link_id}/{flipped}",
        f"/c/{edition}/{link_id}/{signature[:-1]}",
        f"/c/{edition}/{link_id}/{signature}x",
        f"/c/{edition}/{link_id}/{signature.upper()}",
        f"/c/{edition}/{link_id}/{other_signature}",  # a signature of another link
        f"/c/{edition}/{other_id}/{signature}",
        f"/c/{edition}/{link_id[:-1]}0/{signature}",
        f"/c/{edition}-2/{link_id}/{signature}",
        f"/c/2020-01-01/{link_id}/{signature}",
        f"/c/{edition}/{link_id}/",
        f"/c/{edition}/{link_id}",
        f"/c/{edition}//{signature}",
        f"/c/{edition}/{link_id}/{signature}/extra",
        f"/c//{link_id}/{signature}",
        "/c/",
        f"/c/{edition}/{link_id}/{signature}%00",
        f"/c/{edition}/{link_id}/{signature}%0d%0aLocation:%20https://evil.test",
        f"/c/{edition}/https%3A%2F%2Fevil.test/{signature}",
        f"/c/{edition}/{link_id}/{signature}=",
        f"/c/%E2%80%AE{edition}/{link_id}/{signature}",
    ]
    assert len(set(forged)) == 20
    with waitress_server(config_of(root)) as port:
        for path in forged:
            status, headers, _ = http_request(port, "GET", path)
            assert status == 404, path
            assert "location" not in headers
    assert counts(root) == {PLAN: 0, MAP: 0, ARTICLE: 0, ARCHIVE: 0}


def test_tracking_off_leaves_every_link_direct(
    make_pub: Publication, run: Run
) -> None:
    with SmtpSink() as sink:
        root = smtp_pub(make_pub, sink.port, articles=LINKED, email_keys=FULL)
        add_many(root, 2)
        send(run, root)
        for html_part, _ in parts(sink):
            assert "/c/" not in html_part
            hrefs = {html.unescape(h) for h in re.findall(r'href="([^"]*)"', html_part)}
            assert {PLAN, MAP} <= hrefs
    assert "tracked_links" not in dump(root)


def test_concurrent_clicks_are_all_counted(tracked: tuple[Path, SmtpSink, list[str]]) -> None:
    root, _, clicks = tracked
    path = clicks[0].removeprefix("https://news.test")
    with waitress_server(config_of(root)) as port, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: http_request(port, "GET", path)[0], range(40)))
    assert statuses == [302] * 40
    assert sorted(counts(root).values()) == [0, 0, 0, 40]


def test_the_access_log_leaves_the_client_out_of_click_lines(
    tracked: tuple[Path, SmtpSink, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _, clicks = tracked
    path = clicks[0].removeprefix("https://news.test")
    with waitress_server(config_of(root), logged=True) as port:
        assert http_request(port, "GET", path)[0] == 302
        assert http_request(port, "GET", "/")[0] == 200
    lines = capsys.readouterr().err.splitlines()
    [click_line] = [line for line in lines if f"GET {path} " in line]
    [root_line] = [line for line in lines if "GET / " in line]
    assert click_line.startswith("- - - [") and "127.0.0.1" not in click_line
    assert root_line.startswith("127.0.0.1 - - [")


def test_the_email_lint_measures_the_html_as_sent_with_click_links(
    make_pub: Publication,
) -> None:
    from syndicate.content.when import parse_datetime
    from syndicate.edition.lint import lint_email

    sizes = []
    for name, extra in (("plain", ""), ("tracked", TRACKING)):
        root = make_pub(LINKED, name=name, email=FULL, extra=extra)
        config = config_of(root)
        result = lint_email(config, now=parse_datetime(NOW, config.publication.timezone))
        assert not result.errors, result.problems
        sizes.append(result.html_bytes)
    plain, tracked = sizes
    assert tracked > plain + 4 * 40  # four links, each some 70 bytes longer
