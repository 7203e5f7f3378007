"""The reader's preferences page over real HTTP (the WSGI app on 127.0.0.1), with SQLite:
one-click leaves only that newsletter, saving applies at once, bad links change nothing."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from syndicate.delivery import subscriptions as subs
from syndicate.delivery.subscribers import Status, get_subscriber, remove_subscriber, set_status
from syndicate.delivery.tokens import preferences_url
from syndicate.store.database import connect
from tests import nu_checker
from tests.chromium import measure, needs_chromium
from tests.conftest import Publication, Run
from tests.newsletters_fixture import SECRET, config_of, make_newsletters_pub
from tests.smtp_server import SmtpSink, smtp_server
from tests.test_subscribe_phone import PROBE
from tests.web_server import http_request, outbox_drained, web_server

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


@pytest.fixture
def root(make_pub: Publication, run: Run) -> Path:
    root = make_newsletters_pub(make_pub, 2525)
    result = run(
        root,
        "subscribers",
        "add",
        "cat@example.com",
        "--newsletter",
        "daily",
        "--newsletter",
        "climate",
        "--cadence",
        "weekly",
    )
    assert result.exit_code == 0, result.output + result.stderr
    return root


def link(email: str, newsletter: str) -> str:
    """The path and query of the preferences link an edition of ``newsletter`` carries."""
    url = preferences_url("https://news.test/preferences", SECRET.encode(), email, newsletter)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def choices_of(root: Path, email: str) -> dict[str, tuple[str, str]]:
    """newsletter -> (status, cadence) for one subscriber."""
    conn = connect(config_of(root).state_target)
    try:
        found = get_subscriber(conn, email)
        assert found is not None
        return {
            row.newsletter: (str(row.status), row.cadence)
            for row in subs.subscriptions_of(conn, found.id)
        }
    finally:
        conn.close()


def post(port: int, path: str, fields: list[tuple[str, str]], **headers: str):  # type: ignore[no-untyped-def]
    return http_request(
        port, "POST", path, urlencode(fields).encode(), {"Content-Type": FORM, **headers}
    )


def test_one_click_leaves_that_newsletter_only(root: Path) -> None:
    with web_server(config_of(root)) as port:
        status, _, page = post(
            port, link("cat@example.com", "climate"), [("List-Unsubscribe", "One-Click")]
        )
    assert status == 200, page
    assert "Climate Weekly" in page
    assert choices_of(root, "cat@example.com") == {
        "daily": ("active", ""),
        "climate": ("unsubscribed", "weekly"),
    }


def test_get_changes_nothing_and_shows_every_newsletter(root: Path) -> None:
    before = choices_of(root, "cat@example.com")
    with web_server(config_of(root)) as port:
        status, headers, page = http_request(port, "GET", link("cat@example.com", "daily"))
    assert status == 200
    assert headers["cache-control"] == "no-store"
    for title in ("Test Times: Daily", "Climate Weekly", "Breaking"):
        assert title in page
    assert 'id="n-daily" name="choose" type="checkbox" value="daily" checked' in page
    assert 'value="alerts">' in page  # not ticked
    assert '<option value="weekly" selected>' in page
    assert choices_of(root, "cat@example.com") == before


def test_saving_applies_choices_and_cadence(root: Path) -> None:
    fields = [
        ("choose", "climate"),
        ("cadence-climate", "immediate"),
        ("choose", "alerts"),
        ("action", "save"),
    ]
    with web_server(config_of(root)) as port:
        status, _, page = post(port, link("cat@example.com", "daily"), fields)
    assert status == 200, page
    assert choices_of(root, "cat@example.com") == {
        "daily": ("unsubscribed", ""),
        "climate": ("active", "immediate"),
        "alerts": ("active", ""),
    }


def test_unsubscribe_from_everything(root: Path) -> None:
    with web_server(config_of(root)) as port:
        status, _, _ = post(port, link("cat@example.com", "daily"), [("action", "everything")])
    assert status == 200
    assert set(choices_of(root, "cat@example.com").values()) == {
        ("unsubscribed", "weekly"),
        ("unsubscribed", ""),
    }
    conn = connect(config_of(root).state_target)
    found = get_subscriber(conn, "cat@example.com")
    conn.close()
    assert found is not None and found.status is Status.UNSUBSCRIBED


def test_bad_input_changes_nothing(root: Path) -> None:
    before = choices_of(root, "cat@example.com")
    good = link("cat@example.com", "daily")
    with web_server(config_of(root)) as port:
        # A newsletter that does not exist, posted by a hand-made form.
        status, _, page = post(port, good, [("choose", "sports"), ("action", "save")])
        assert status == 400 and "unknown newsletter &#39;sports&#39;" in page
        # A cadence the newsletter does not offer.
        status, _, page = post(port, good, [("choose", "daily"), ("cadence-daily", "weekly")])
        assert status == 400 and "offers no cadence" in page
        # A token signed for another newsletter: the signature covers the newsletter id.
        forged = good.replace("newsletter=daily", "newsletter=climate")
        status, _, _ = post(port, forged, [("List-Unsubscribe", "One-Click")])
        assert status == 403
        # Another site's form.
        status, _, _ = post(port, good, [("action", "everything")], Origin="https://evil.test")
        assert status == 403
        # No token at all.
        status, _, _ = http_request(port, "GET", "/preferences?newsletter=daily")
        assert status == 400
    assert choices_of(root, "cat@example.com") == before


def test_a_link_for_a_deleted_subscriber_says_so(root: Path) -> None:
    conn = connect(config_of(root).state_target)
    remove_subscriber(conn, "cat@example.com")
    conn.close()
    with web_server(config_of(root)) as port:
        status, _, page = http_request(port, "GET", link("cat@example.com", "daily"))
        assert status == 404 and "no subscription" in page
        status, _, _ = post(
            port, link("cat@example.com", "daily"), [("List-Unsubscribe", "One-Click")]
        )
        assert status == 404


def test_a_link_from_a_removed_newsletter_still_opens_the_page(root: Path) -> None:
    with web_server(config_of(root)) as port:
        status, _, page = http_request(port, "GET", link("cat@example.com", "sports"))
    assert status == 200
    assert "no longer published" in page


def preferences_page(root: Path) -> str:
    with web_server(config_of(root)) as port:
        status, _, page = http_request(port, "GET", link("cat@example.com", "daily"))
    assert status == 200
    return page


def test_the_preferences_and_subscribe_pages_are_valid_html(root: Path, tmp_path: Path) -> None:
    """One run of the W3C Nu checker (a JVM start) for both pages."""
    jar = nu_checker.locate()
    if isinstance(jar, str):
        pytest.skip(jar)
    (tmp_path / "preferences.html").write_text(preferences_page(root), encoding="utf-8")
    (tmp_path / "subscribe.html").write_text(subscribe_page(root), encoding="utf-8")
    assert (
        nu_checker.problems(jar, tmp_path / "preferences.html", tmp_path / "subscribe.html") == []
    )


@needs_chromium
def test_the_preferences_page_fits_a_375px_screen(root: Path, tmp_path: Path) -> None:
    (tmp_path / "subscribe.html").write_text(preferences_page(root), encoding="utf-8")
    (tmp_path / "probe.html").write_text(
        PROBE.replace("input:not([type=hidden]),button", "input:not([type=hidden]),button,select"),
        encoding="utf-8",
    )
    scroll_width, viewport, edges = measure(tmp_path / "probe.html")
    assert viewport == 375
    assert scroll_width <= 375, "the preferences page scrolls sideways on a phone"
    assert len(edges) >= 5 and max(edges) <= 375, edges


# --- the subscribe form ------------------------------------------------------------------


def form_post(port: int, fields: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    return http_request(
        port, "POST", "/subscribe", urlencode(fields).encode(), {"Content-Type": FORM}
    )


def confirm_link(inbox: SmtpSink, address: str) -> str:
    body = inbox.to(address)[-1].message.get_body(("plain",))
    assert body is not None
    match = re.search(r"https?://\S+/confirm\?token=(\S+)", body.get_content())
    assert match is not None
    return match.group(1)


def test_subscribe_form_offers_the_newsletters(make_pub: Publication) -> None:
    root = make_newsletters_pub(make_pub, 2525)
    with web_server(config_of(root)) as port:
        _, _, page = http_request(port, "GET", "/subscribe")
        assert 'value="daily" checked' in page and 'value="climate">' in page
        _, _, page = http_request(port, "GET", "/subscribe?newsletter=climate")
        assert 'value="climate" checked' in page and 'value="daily">' in page
        status, _, page = form_post(port, [("email", "x@example.com"), ("newsletter", "sports")])
        assert status == 400 and "no newsletter" in page
        status, _, page = form_post(port, [("email", "x@example.com")])
        assert status == 400 and "at least one newsletter" in page


def test_double_opt_in_confirms_the_chosen_set(make_pub: Publication, run: Run) -> None:
    with smtp_server() as inbox:
        root = make_newsletters_pub(make_pub, inbox.port)
        assert run(root, "subscribers", "add", "old@example.com").exit_code == 0  # daily
        config = config_of(root)
        with web_server(config) as port:
            fields = [
                ("email", "new@example.com"),
                ("newsletter", "climate"),
                ("newsletter", "alerts"),
            ]
            assert form_post(port, fields)[0] == 200
            # An active reader asking for one more newsletter gets a link for it too.
            assert (
                form_post(port, [("email", "old@example.com"), ("newsletter", "climate")])[0] == 200
            )
            outbox_drained(config)
            assert choices_of(root, "new@example.com") == {
                "climate": ("pending", ""),
                "alerts": ("pending", ""),
            }
            assert choices_of(root, "old@example.com")["daily"] == ("active", "")
            for address in ("new@example.com", "old@example.com"):
                token = confirm_link(inbox, address)
                status, _, _ = http_request(
                    port,
                    "POST",
                    "/confirm",
                    urlencode({"token": token}).encode(),
                    {"Content-Type": FORM},
                )
                assert status == 200
    assert choices_of(root, "new@example.com") == {
        "climate": ("active", ""),
        "alerts": ("active", ""),
    }
    assert choices_of(root, "old@example.com") == {
        "daily": ("active", ""),
        "climate": ("active", ""),
    }


def subscribe_page(root: Path) -> str:
    with web_server(config_of(root)) as port:
        status, _, page = http_request(port, "GET", "/subscribe")
    assert status == 200
    return page


@needs_chromium
def test_the_subscribe_page_with_newsletters_fits_a_375px_screen(
    make_pub: Publication, tmp_path: Path
) -> None:
    root = make_newsletters_pub(make_pub, 2525)
    (tmp_path / "subscribe.html").write_text(subscribe_page(root), encoding="utf-8")
    (tmp_path / "probe.html").write_text(PROBE, encoding="utf-8")
    scroll_width, viewport, edges = measure(tmp_path / "probe.html")
    assert viewport == 375 and scroll_width <= 375
    assert len(edges) >= 5 and max(edges) <= 375, edges


def test_a_bounced_reader_is_told_why_nothing_arrives(root: Path) -> None:
    conn = connect(config_of(root).state_target)
    set_status(conn, "cat@example.com", Status.BOUNCED, reason="bounced: 550 5.1.1")
    conn.close()
    with web_server(config_of(root)) as port:
        status, _, page = http_request(port, "GET", link("cat@example.com", "daily"))
    assert status == 200 and "bounced or was reported as spam" in page
    assert 'value="daily" checked' not in page  # nothing is being sent to it
