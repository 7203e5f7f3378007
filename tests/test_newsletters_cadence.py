"""Reader-chosen cadence: a change mid-week neither repeats nor skips an article (the ledger
proves it), and a change made while an edition is being sent holds for every message not
yet handed over. Real SMTP (aiosmtpd) and SQLite."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from syndicate.config import find_newsletter, newsletter_config
from syndicate.content.articles import load_articles
from syndicate.delivery import choices
from syndicate.delivery import ledger as ledger_db
from syndicate.delivery import subscriptions as subs
from syndicate.delivery.subscribers import add_subscriber, get_subscriber
from syndicate.edition import newsletters as planner
from syndicate.edition.newsletter_send import state_connection
from syndicate.edition.render import render_edition
from syndicate.edition.sending import send_edition
from syndicate.publish.run import publish
from syndicate.store.database import connect
from tests.conftest import Publication, article
from tests.newsletters_fixture import NEWSLETTERS, SECRET, config_of, delivered, smtp_email
from tests.smtp_server import smtp_server

DAYS = ("2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12")  # Monday to Thursday


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def climate_week(make_pub: Publication, port: int) -> Path:
    files = {
        f"c{n}.md": article(
            f"Climate {n}", date=f"{day}T10:00:00+01:00", section="Climate", summary=f"Day {n}."
        )
        for n, day in enumerate(DAYS)
    }
    return make_pub(files, email=smtp_email(port), extra=NEWSLETTERS)


def set_cadence(root: Path, email: str, cadence: str) -> None:
    """What the preferences page does when the reader picks another cadence."""
    config = config_of(root)
    conn = connect(config.state_target)
    try:
        choices.ensure(config, conn)
        found = get_subscriber(conn, email)
        assert found is not None
        choices.set_preferences(config, conn, found, {"climate": cadence}, how="preferences")
    finally:
        conn.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_cadence_change_mid_week_neither_repeats_nor_skips(make_pub: Publication) -> None:
    with smtp_server() as inbox:
        root = climate_week(make_pub, inbox.port)
        config = config_of(root)
        conn = state_connection(config)
        for email, cadence in (("wes@example.com", "weekly"), ("ivy@example.com", "immediate")):
            conn.execute("BEGIN IMMEDIATE")
            sub, _ = add_subscriber(conn, email)
            choices.choose(config, conn, sub, ["climate"], cadence=cadence, how="test")
            conn.execute("COMMIT")
        conn.close()
        # The Friday before: the first run handles the latest due moment (nothing to send).
        for moment in ("2026-11-06T18:00", "2026-11-09T18:00", "2026-11-10T18:00"):
            assert publish(config, now=at(moment + "+01:00")).exit_code == 0
        set_cadence(root, "wes@example.com", "immediate")  # Wednesday morning
        set_cadence(root, "ivy@example.com", "weekly")
        for moment in ("2026-11-11T18:00", "2026-11-12T18:00", "2026-11-13T18:00"):
            assert publish(config, now=at(moment + "+01:00")).exit_code == 0

    got = delivered(root)
    every = {a.id for a in load_articles(config.content_dir, config.publication).articles}
    assert len(every) == 4
    for email in ("wes@example.com", "ivy@example.com"):
        carried = got[(email, "climate")]
        assert Counter(carried).most_common(1)[0][1] == 1, carried  # no repeats
        assert set(carried) == every  # no skips
    # wes: nothing Monday/Tuesday (weekly), then Mon-Wed on Wednesday and Thursday's on
    # Thursday, nothing on Friday. ivy: Monday, Tuesday, then Wed+Thu on Friday.
    wes = [m.message["Message-ID"] for m in inbox.to("wes@example.com")]
    ivy = [m.message["Message-ID"] for m in inbox.to("ivy@example.com")]
    assert len(wes) == 2 and len(ivy) == 3
    first = inbox.to("wes@example.com")[0].message.get_body(("plain",)).get_content()
    assert all(f"Climate {n}" in first for n in range(3))
    friday = inbox.to("ivy@example.com")[-1].message.get_body(("plain",)).get_content()
    assert "Climate 2" in friday and "Climate 3" in friday and "Climate 0" not in friday


def test_a_change_during_a_send_holds_for_messages_not_yet_sent(make_pub: Publication) -> None:
    with smtp_server() as inbox:
        root = climate_week(make_pub, inbox.port)
        config = config_of(root)
        conn = state_connection(config)
        try:
            for email in ("amy@example.com", "bob@example.com"):
                conn.execute("BEGIN IMMEDIATE")
                sub, _ = add_subscriber(conn, email)
                choices.choose(config, conn, sub, ["climate", "daily"], cadence="weekly", how="t")
                conn.execute("COMMIT")
            now = at("2026-11-13T09:00+01:00")
            articles = load_articles(config.content_dir, config.publication).articles
            climate = find_newsletter(config, "climate")
            planner.refresh(config, conn, climate, articles, now)
            (item,) = planner.plan(config, conn, climate, "weekly", articles, now=now)
            edition = planner.edition_for(config, conn, item, now=now)
            nconfig = newsletter_config(config, "climate")
            rendered = render_edition(nconfig, edition)
            assert planner.commit(config, conn, item, edition) == 2
            # The edition is stored and queued; now bob leaves climate (one-click).
            bob = get_subscriber(conn, "bob@example.com")
            assert bob is not None
            subs.unsubscribe_from(conn, bob.id, "climate", how="one-click")
            report = send_edition(nconfig, conn, edition, rendered)
            rows = {r.email: r for r in ledger_db.rows(conn, edition.id)}
        finally:
            conn.close()
    assert report.complete and report.sent == 1 and report.skipped == 1
    assert [m.recipients for m in inbox.messages] == [("amy@example.com",)]
    assert rows["bob@example.com"].state == "skipped"
    assert rows["bob@example.com"].reason == "unsubscribed from climate"
