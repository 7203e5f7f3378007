"""The subscriber store and `syndicate subscribers ...`: validation, idempotent import with
`file:line: reason` for bad rows, export that imports back, statuses kept not deleted."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicate.delivery.subscribers import (
    InvalidAddress,
    Status,
    add_subscriber,
    ensure_subscribers,
    get_subscriber,
    list_subscribers,
    normalize_email,
    set_status,
    unsubscribe,
)
from syndicate.store.database import connect
from tests.conftest import Publication, Run


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = connect(tmp_path / "state.db")
    ensure_subscribers(conn)
    yield conn
    conn.close()


def test_addresses_are_validated_and_normalised() -> None:
    assert normalize_email("  Jane.Doe@EXAMPLE.Org ") == "Jane.Doe@example.org"
    assert normalize_email("kim@bücher.example") == "kim@bücher.example"
    for bad in ("", "no-at-sign", "a@b@c.org", "x@", "two words@example.org"):
        with pytest.raises(InvalidAddress):
            normalize_email(bad)


def test_add_is_idempotent_and_case_insensitive(db: sqlite3.Connection) -> None:
    first, created = add_subscriber(db, "Reader@Example.com", name="  Ann   Reader ")
    assert created and first.status is Status.ACTIVE and first.name == "Ann Reader"
    again, created = add_subscriber(db, "reader@EXAMPLE.COM")
    assert not created and again.id == first.id
    assert [s.email for s in list_subscribers(db)] == ["Reader@example.com"]


def test_unsubscribed_stay_unsubscribed_unless_resubscribed(db: sqlite3.Connection) -> None:
    add_subscriber(db, "a@example.com")
    gone = unsubscribe(db, "A@example.com", how="web")
    assert gone is not None and gone.status is Status.UNSUBSCRIBED and gone.reason == "web"
    kept, _ = add_subscriber(db, "a@example.com")
    assert kept.status is Status.UNSUBSCRIBED
    back, _ = add_subscriber(db, "a@example.com", resubscribe=True)
    assert back.status is Status.ACTIVE and back.reason == ""
    set_status(db, "a@example.com", Status.BOUNCED, reason="550 5.1.1")
    assert [s.email for s in list_subscribers(db, Status.BOUNCED)] == ["a@example.com"]
    assert list(list_subscribers(db, Status.ACTIVE)) == []


CSV = (
    "Name,E-Mail,email,notes\n"
    "Ann,ignored,ann@example.com,first\n"
    "Bob,,not-an-address,\n"
    '"Carol, the Editor",,CAROL@example.com,"multi\nline"\n'
    "\n"
    "Dan,,,no email\n"
    "Eve,,eve@example.com\n"
    "Ann again,,ANN@example.com,duplicate\n"
)


def test_import_reports_bad_rows_with_lines_and_is_idempotent(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    source = tmp_path / "list.csv"
    source.write_text(CSV, encoding="utf-8")

    result = run(root, "subscribers", "import", str(source))

    assert result.exit_code == 1
    assert "imported 3 new subscribers, 1 already present, 2 bad rows" in result.stdout
    errors = result.stderr.splitlines()
    assert errors[0].startswith(f"{source}:3: 'not-an-address': ")
    assert errors[1] == f"{source}:7: no email address in this row"
    listed = run(root, "subscribers", "list").stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["ann@example.com", "Ann", "active"],
        ["CAROL@example.com", "Carol, the Editor", "active"],
        ["eve@example.com", "Eve", "active"],
    ]
    assert all(line.split("\t")[3] == "import:list.csv" for line in listed)

    again = run(root, "subscribers", "import", str(source))
    assert "imported 0 new subscribers, 4 already present, 2 bad rows" in again.stdout
    assert run(root, "subscribers", "list").stdout.splitlines() == listed


def test_import_needs_an_email_header(make_pub: Publication, run: Run, tmp_path: Path) -> None:
    root = make_pub()
    source = tmp_path / "bad.csv"
    source.write_text("name,address\nAnn,ann@example.com\n", encoding="utf-8")
    result = run(root, "subscribers", "import", str(source))
    assert result.exit_code == 1
    assert f"{source}:1: header has no 'email' column" in result.stderr
    missing = run(root, "subscribers", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1 and "no such file" in missing.stderr


def test_import_does_not_resubscribe(make_pub: Publication, run: Run, tmp_path: Path) -> None:
    root = make_pub()
    assert run(root, "subscribers", "add", "ann@example.com").exit_code == 0
    assert run(root, "subscribers", "unsubscribe", "ann@example.com").exit_code == 0
    source = tmp_path / "old-export.csv"
    source.write_text("email\nann@example.com\n", encoding="utf-8")
    assert "1 already present" in run(root, "subscribers", "import", str(source)).stdout
    assert "\tunsubscribed\t" in run(root, "subscribers", "list").stdout


def test_export_round_trips_through_import(make_pub: Publication, run: Run, tmp_path: Path) -> None:
    root = make_pub()
    assert run(root, "subscribers", "add", "--name", "Ann, A.", "ann@example.com").exit_code == 0
    assert run(root, "subscribers", "add", "bob@example.com", "cy@example.com").exit_code == 0
    assert run(root, "subscribers", "unsubscribe", "bob@example.com").exit_code == 0
    target = tmp_path / "out" / "subs.csv"
    result = run(root, "subscribers", "export", str(target))
    assert result.exit_code == 0 and "exported 3 subscribers" in result.stdout
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["email"], r["name"], r["status"]) for r in rows] == [
        ("ann@example.com", "Ann, A.", "active"),
        ("bob@example.com", "", "unsubscribed"),
        ("cy@example.com", "", "active"),
    ]
    assert target.stat().st_mode & 0o077 == 0  # personal data: owner only
    stdout = run(root, "subscribers", "export", "-", "--status", "active").stdout
    assert stdout.splitlines()[0].startswith("email,name,status")
    assert len(stdout.splitlines()) == 3

    again = run(root, "subscribers", "import", str(target))
    assert "imported 0 new subscribers, 3 already present, 0 bad rows" in again.stdout
    assert again.exit_code == 0


def test_remove_and_count(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    assert run(root, "subscribers", "add", "a@example.com", "b@example.com").exit_code == 0
    duplicate = run(root, "subscribers", "add", "A@example.com")
    assert "already subscribed" in duplicate.stdout
    assert run(root, "subscribers", "remove", "a@example.com").exit_code == 0
    gone = run(root, "subscribers", "remove", "a@example.com")
    assert gone.exit_code == 1 and "not subscribed: a@example.com" in gone.stderr
    assert run(root, "subscribers", "list", "--count").stdout == "active\t1\n"
    bad = run(root, "subscribers", "add", "not an address")
    assert bad.exit_code == 1 and "error:" in bad.stderr


def test_get_subscriber_unknown_is_none(db: sqlite3.Connection) -> None:
    assert get_subscriber(db, "nobody@example.com") is None
    assert unsubscribe(db, "nobody@example.com", how="cli") is None
