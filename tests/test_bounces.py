"""Bounces and complaints: DSNs from several MTAs and SES JSON suppress the right addresses."""

from __future__ import annotations

import mailbox
import os
import shutil
from pathlib import Path

import pytest

from syndicate.config import load_config
from syndicate.delivery.bounces import process_paths
from syndicate.delivery.subscribers import (
    Status,
    add_subscriber,
    get_subscriber,
    import_csv,
)
from syndicate.delivery.suppressions import is_suppressed
from syndicate.store.database import connect
from tests.conftest import Publication, Run, article, state_of

pytestmark = pytest.mark.both_backends

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
DSN_FILES = sorted(FIXTURES.glob("*.eml"))
SES_FILES = sorted(FIXTURES.glob("ses-*.json"))

HARD = ["gone@example.com", "nobody@example.org", "left@contoso.example", "ses-gone@example.com"]
COMPLAINED = ["angry@yahoo.example", "ses-angry@example.com"]
SOFT_ONCE = ["full@gmail.example", "ses-full@example.com"]
SOFT_THREE = "slow@example.net"
UNTOUCHED = "keep@example.com"


def maildir_of(root: Path, files: list[Path]) -> Path:
    box = mailbox.Maildir(root, create=True)
    for path in files:
        box.add(path.read_bytes())
    return root


def subscribe_all(db: Path | str) -> None:
    conn = connect(db)
    for address in [*HARD, *COMPLAINED, *SOFT_ONCE, SOFT_THREE, UNTOUCHED]:
        add_subscriber(conn, address)
    conn.close()


def statuses(db: Path | str) -> dict[str, Status]:
    conn = connect(db)
    rows = conn.execute("SELECT email, status FROM subscribers").fetchall()
    conn.close()
    return {row["email"]: Status(row["status"]) for row in rows}


def test_fixtures_cover_three_mta_styles_and_ses() -> None:
    names = {path.name.split("-")[0] for path in DSN_FILES}
    assert {"postfix", "exim", "exchange", "gmail", "yahoo"} <= names
    assert len(SES_FILES) == 3


def test_process_maildir_and_ses_json_updates_states(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    db = state_of(root)
    subscribe_all(db)
    inbox = maildir_of(tmp_path / "bounces-maildir", DSN_FILES)
    ses_dir = tmp_path / "ses"
    ses_dir.mkdir()
    for path in SES_FILES:
        shutil.copy(path, ses_dir / path.name)

    result = run(root, "bounces", "process", str(inbox), str(ses_dir))
    assert result.exit_code == 0, result.output + result.stderr
    assert "read 11 notifications" in result.output
    state = statuses(db)
    for address in HARD:
        assert state[address] is Status.BOUNCED, address
    for address in COMPLAINED:
        assert state[address] is Status.COMPLAINED, address
    for address in SOFT_ONCE:
        assert state[address] is Status.ACTIVE, address
    assert state[SOFT_THREE] is Status.BOUNCED  # three soft bounces in a row, limit 3
    assert state[UNTOUCHED] is Status.ACTIVE
    assert f"suppressed {SOFT_THREE}: 3 soft bounces in a row" in result.output

    conn = connect(db)
    events = conn.execute("SELECT email, kind, status FROM bounce_events ORDER BY id").fetchall()
    kinds = {(row["email"], row["kind"]) for row in events}
    assert ("gone@example.com", "hard") in kinds
    assert ("full@gmail.example", "soft") in kinds  # Action: failed, but Status 4.2.2
    assert ("angry@yahoo.example", "complaint") in kinds
    assert len(events) == 11
    assert {row["status"] for row in events if row["email"] == "gone@example.com"} == {"5.1.1"}
    conn.close()

    again = run(root, "bounces", "process", str(inbox), str(ses_dir))
    assert again.exit_code == 0
    assert "0 new events (11 already recorded), 0 addresses suppressed" in again.output

    listed = run(root, "bounces", "list")
    assert "gone@example.com\thard\thard bounce 5.1.1" in listed.output
    assert "ses-angry@example.com\tcomplaint" in listed.output


def test_mbox_and_single_files_and_soft_limit(make_pub: Publication, tmp_path: Path) -> None:
    root = make_pub(extra="[bounces]\nsoft_limit = 4\n")
    config = load_config(root / "config.toml")
    assert config.model.bounces.soft_limit == 4
    mbox_path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(mbox_path, create=True)
    for path in sorted(FIXTURES.glob("postfix-delayed-*.eml")):
        box.add(path.read_bytes())
    box.flush()
    box.close()
    conn = connect(config.state_target)
    add_subscriber(conn, SOFT_THREE)
    report = process_paths(conn, [mbox_path], soft_limit=4)
    assert report.messages == 3 and report.recorded == 3
    subscriber = get_subscriber(conn, SOFT_THREE)
    assert subscriber is not None and subscriber.status is Status.ACTIVE  # 3 < 4
    # The same failed message reported twice (a second warning) counts once.
    process_paths(conn, [FIXTURES / "postfix-delayed-3.eml"], soft_limit=4)
    subscriber = get_subscriber(conn, SOFT_THREE)
    assert subscriber is not None and subscriber.status is Status.ACTIVE
    conn.close()


def test_not_a_bounce_is_reported_not_recorded(tmp_path: Path) -> None:
    letter = tmp_path / "hello.eml"
    letter.write_text("From: a@example.com\nTo: b@example.com\nSubject: Hi\n\nJust saying hi.\n")
    conn = connect(tmp_path / "state.db")
    report = process_paths(conn, [letter], soft_limit=3)
    assert report.recorded == 0
    assert "not a bounce or complaint: 'Hi'" in str(report.problems[0])
    conn.close()


def test_import_does_not_readd_suppressed_unless_resubscribe(tmp_path: Path) -> None:
    conn = connect(tmp_path / "state.db")
    # An address that bounced before it was ever in the store (e.g. removed, then re-imported).
    process_paths(conn, [FIXTURES / "ses-bounce-permanent.json"], soft_limit=3)
    process_paths(conn, [FIXTURES / "ses-complaint.json"], soft_limit=3)
    assert is_suppressed(conn, "ses-gone@example.com") == "hard bounce 5.1.1"
    csv_file = tmp_path / "list.csv"
    csv_file.write_text(
        "email,name\nses-gone@example.com,Gone\nses-angry@example.com,Angry\nnew@example.com,New\n"
    )
    report = import_csv(conn, csv_file)
    assert report.added == 3
    gone = get_subscriber(conn, "ses-gone@example.com")
    angry = get_subscriber(conn, "ses-angry@example.com")
    new = get_subscriber(conn, "new@example.com")
    assert gone is not None and gone.status is Status.BOUNCED
    assert angry is not None and angry.status is Status.COMPLAINED
    assert new is not None and new.status is Status.ACTIVE

    import_csv(conn, csv_file, resubscribe=True)
    gone = get_subscriber(conn, "ses-gone@example.com")
    assert gone is not None and gone.status is Status.ACTIVE
    assert is_suppressed(conn, "ses-gone@example.com") is None
    conn.close()


def test_next_send_skips_suppressed_addresses(
    make_pub: Publication, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syndicate.content.when import parse_datetime
    from syndicate.edition.render import render_edition
    from syndicate.edition.sending import send_edition
    from syndicate.edition.state import open_state, plan_edition

    monkeypatch.setenv("SYNDICATE_SECRET", "bounce-test-secret-0123456789")
    root = make_pub({"news.md": article("News", summary="Something happened.")})
    config = load_config(root / "config.toml")
    subscribe_all(config.state_target)
    inbox = maildir_of(tmp_path / "dsn", DSN_FILES)
    assert run(root, "bounces", "process", str(inbox), *map(str, SES_FILES)).exit_code == 0

    conn = open_state(config)
    now = parse_datetime("2026-11-03T09:00:00+01:00", config.publication.timezone)
    edition = plan_edition(config, conn, now=now)
    assert edition is not None
    report = send_edition(config, conn, edition, render_edition(config, edition))
    conn.close()
    outbox = mailbox.Maildir(root / "outbox", create=False)
    recipients = sorted(str(message["To"]) for message in outbox)
    assert recipients == sorted([UNTOUCHED, *SOFT_ONCE])
    assert report.sent == 3


def test_cli_import_keeps_suppressed_unless_resubscribe(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    assert run(root, "bounces", "process", str(FIXTURES / "exim-hard.eml")).exit_code == 0
    csv_file = tmp_path / "readers.csv"
    csv_file.write_text("email\nnobody@example.org\nfresh@example.org\n")
    result = run(root, "subscribers", "import", str(csv_file))
    assert result.exit_code == 0, result.output
    assert "1 kept suppressed" in result.output
    listed = run(root, "subscribers", "list")
    assert "nobody@example.org\t\tbounced" in listed.output
    assert "fresh@example.org\t\tactive" in listed.output
    result = run(root, "subscribers", "import", "--resubscribe", str(csv_file))
    assert result.exit_code == 0, result.output
    assert "nobody@example.org\t\tactive" in run(root, "subscribers", "list").output
    assert run(root, "bounces", "list").output == ""


def test_smtp_refusal_during_send_suppresses_like_a_hard_bounce(
    make_pub: Publication, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syndicate.content.when import parse_datetime
    from syndicate.edition.render import render_edition
    from syndicate.edition.sending import send_edition
    from syndicate.edition.state import open_state, plan_edition
    from tests.smtp_server import Faults, smtp_server

    monkeypatch.setenv("SYNDICATE_SECRET", "bounce-test-secret-0123456789")
    with smtp_server(Faults(bounce={"dead@example.com"})) as sink:
        root = make_pub(
            {"news.md": article("News", summary="Something happened.")},
            email=(
                'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\n'
                f'port = {sink.port}\nsecurity = "none"\n'
            ),
        )
        config = load_config(root / "config.toml")
        conn = open_state(config)
        for address in ("dead@example.com", "alive@example.com"):
            add_subscriber(conn, address)
        now = parse_datetime("2026-11-03T09:00:00+01:00", config.publication.timezone)
        edition = plan_edition(config, conn, now=now)
        assert edition is not None
        report = send_edition(config, conn, edition, render_edition(config, edition))
        assert report.sent == 1 and report.bounced == 1
        assert (
            is_suppressed(
                conn,
                "dead@example.com",
            )
            is not None
        )
        event = conn.execute("SELECT kind, status, source FROM bounce_events").fetchone()
        assert tuple(event) == ("hard", "5.1.1", "smtp")
        conn.close()
    # Removed and re-imported by an old export: still suppressed.
    assert run(root, "subscribers", "remove", "dead@example.com").exit_code == 0
    csv_file = tmp_path / "old.csv"
    csv_file.write_text("email\ndead@example.com\n")
    assert run(root, "subscribers", "import", str(csv_file)).exit_code == 0
    assert "dead@example.com\t\tbounced" in run(root, "subscribers", "list").output


@pytest.mark.parametrize(("delivered_between", "suppressed"), [(True, False), (False, True)])
def test_soft_bounces_count_in_a_row_of_sent_editions(
    tmp_path: Path, delivered_between: bool, suppressed: bool
) -> None:
    from syndicate.delivery.ledger import ensure_ledger

    conn = connect(tmp_path / "state.db")
    add_subscriber(conn, SOFT_THREE)
    ensure_ledger(conn)
    # The ledger's Message-IDs are what the delayed-mail DSNs quote back.
    editions = [
        ("2026-12-01", "<2026-12-01.slow.9c1e@news.test>"),
        ("2026-12-02", "<2026-12-02.slow.9c1e@news.test>"),
        ("2026-12-02-2", "<2026-12-02-2.delivered@news.test>"),
        ("2026-12-03", "<2026-12-03.slow.9c1e@news.test>"),
    ]
    if not delivered_between:
        editions.pop(2)
    for n, (edition, message_id) in enumerate(editions):
        conn.execute(
            "INSERT INTO deliveries (edition, email, state, message_id, queued_at, updated)"
            " VALUES (?, ?, 'sent', ?, ?, ?)",
            (edition, SOFT_THREE, message_id, f"2026-12-0{n + 1}T08:00:00", "x"),
        )
    process_paths(conn, sorted(FIXTURES.glob("postfix-delayed-*.eml")), soft_limit=3)
    subscriber = get_subscriber(conn, SOFT_THREE)
    assert subscriber is not None
    assert (subscriber.status is Status.BOUNCED) is suppressed
    conn.close()


def test_odd_files_are_warnings_and_the_rest_is_processed(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    db = state_of(root)
    subscribe_all(db)
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "0-empty.eml").write_bytes(b"")
    (folder / "1-no-from.eml").write_text("To: a@example.com\nSubject: no sender\n\nHello.\n")
    (folder / "2-garbage.eml").write_bytes(bytes(range(256)) * 40)
    (folder / "3-folder.eml").mkdir()  # a folder named like a message: walked, holds nothing
    (folder / "4-dangling.eml").symlink_to(tmp_path / "gone.eml")
    os.mkfifo(folder / "5-pipe.eml")  # reading it would block forever
    (folder / "6-huge-header.eml").write_bytes(b"Subject: " + b"x" * 2_000_000 + b"\n\nbody\n")
    (folder / "7-deep.json").write_text("[" * 100_000)
    (folder / "8-ses-odd.json").write_text(
        '{"notificationType": "Bounce", "bounce": {"bounceType": "Permanent",'
        ' "bouncedRecipients": 7}}'
    )
    shutil.copy(FIXTURES / "postfix-hard.eml", folder / "9-postfix-hard.eml")
    shutil.copy(FIXTURES / "ses-complaint.json", folder / "9-ses-complaint.json")

    result = run(root, "bounces", "process", str(folder))
    assert result.exit_code == 0, result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    for name in ("0-empty.eml", "1-no-from.eml", "2-garbage.eml", "4-dangling.eml"):
        assert f"{folder / name}: warning:" in result.stderr, name
    for name in ("5-pipe.eml", "6-huge-header.eml", "7-deep.json", "8-ses-odd.json"):
        assert f"{folder / name}: warning:" in result.stderr, name
    assert "not a regular file" in result.stderr
    state = statuses(db)
    assert state["gone@example.com"] is Status.BOUNCED
    assert state["ses-angry@example.com"] is Status.COMPLAINED
