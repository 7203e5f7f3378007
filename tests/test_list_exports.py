"""Subscriber exports of Mailchimp, Substack, Buttondown and listmonk: recognised by their
header, and every unsubscribed, cleaned, bounced or complained row imported suppressed."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.delivery.list_exports import detect, header_key, list_export
from tests.conftest import Publication, Run

FIXTURES = Path(__file__).parent / "fixtures" / "subscribers"
MAILCHIMP = FIXTURES / "mailchimp"


def statuses(run: Run, root: Path) -> dict[str, tuple[str, str]]:
    """email -> (name, status) as `subscribers list` prints them."""
    listed = run(root, "subscribers", "list").stdout.splitlines()
    return {cells[0]: (cells[1], cells[2]) for cells in (line.split("\t") for line in listed)}


def header_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[0].split(",")


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [
        ("mailchimp.csv", "mailchimp"),
        ("mailchimp/cleaned_members_export_4f1d2a9c7e.csv", "mailchimp"),
        ("mailchimp/unsubscribed_members_export_4f1d2a9c7e.csv", "mailchimp"),
        ("substack.csv", "substack"),
        ("substack-members.csv", "substack"),
        ("buttondown.csv", "buttondown"),
        ("listmonk.csv", "listmonk"),
        ("listmonk-statuses.csv", "listmonk"),
    ],
)
def test_format_is_detected_from_the_header(fixture: str, fmt: str) -> None:
    assert detect([header_key(cell) for cell in header_of(FIXTURES / fixture)]) == fmt


def test_plain_and_own_exports_are_told_apart() -> None:
    assert detect(["email", "name"]) == "plain"
    assert detect(["emailaddress"]) == "plain"
    own = "email,name,status,reason,source,created,updated".split(",")
    assert detect(own) == "syndicate"


def test_mailchimp_audience_export_all_three_files(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    for name in ("subscribed", "unsubscribed", "cleaned"):
        path = MAILCHIMP / f"{name}_members_export_4f1d2a9c7e.csv"
        result = run(root, "subscribers", "import", str(path))
        assert result.exit_code == 0, result.output
    assert "imported 1 new subscriber, 0 already present, 0 bad rows (1 kept suppressed" in (
        result.stdout
    )
    assert statuses(run, root) == {
        "ada@example.com": ("Ada Lovelace", "active"),
        "returning@example.com": ("Rita Return", "active"),
        "left@example.com": ("Lena Left", "unsubscribed"),
        "quiet@example.com": ("Quentin", "unsubscribed"),
        "gone@example.com": ("Gus Gone", "bounced"),
    }
    exported = run(root, "subscribers", "export", "-").stdout
    assert "mailchimp: unsubscribed (No longer interested)" in exported
    assert "gone@example.com,Gus Gone,bounced,mailchimp: cleaned" in exported


def test_renamed_mailchimp_file_is_still_read_by_its_columns(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    renamed = tmp_path / "audience.csv"
    renamed.write_bytes((MAILCHIMP / "cleaned_members_export_4f1d2a9c7e.csv").read_bytes())
    assert run(root, "subscribers", "import", str(renamed)).exit_code == 0
    assert statuses(run, root)["gone@example.com"][1] == "bounced"


def test_a_later_unsubscribed_export_stops_an_active_address(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    old = tmp_path / "old-list.csv"
    old.write_text("email,name\nleft@example.com,Lena\nstays@example.com,Stay\n")
    assert run(root, "subscribers", "import", str(old)).exit_code == 0
    path = MAILCHIMP / "unsubscribed_members_export_4f1d2a9c7e.csv"
    result = run(root, "subscribers", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "1 already present now suppressed as the export says" in result.stdout
    listed = statuses(run, root)
    assert listed["left@example.com"] == ("Lena", "unsubscribed")
    assert listed["stays@example.com"][1] == "active"
    # And --resubscribe never turns an address the export says left into an active one.
    assert run(root, "subscribers", "import", "--resubscribe", str(path)).exit_code == 0
    assert statuses(run, root)["left@example.com"][1] == "unsubscribed"


def test_substack_export(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    result = run(root, "subscribers", "import", str(FIXTURES / "substack-members.csv"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "imported 3 new subscribers, 0 already present, 0 bad rows "
        "(1 kept suppressed: unsubscribed, bounced or complained); 1 deletion request skipped"
    )
    assert statuses(run, root) == {
        "paid@example.com": ("", "active"),
        "free@example.com": ("", "active"),
        "muted@example.com": ("", "unsubscribed"),
    }


def test_buttondown_export(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    result = run(root, "subscribers", "import", str(FIXTURES / "buttondown.csv"))
    assert result.exit_code == 0, result.output
    assert {email: status for email, (_, status) in statuses(run, root).items()} == {
        "reader@example.com": "active",
        "patron@example.com": "active",
        "unconfirmed@example.com": "pending",
        "bye@example.com": "unsubscribed",
        "dead@example.com": "bounced",
        "angry@example.com": "complained",
        "bot@example.com": "unsubscribed",
    }


def test_listmonk_export(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    result = run(root, "subscribers", "import", str(FIXTURES / "listmonk-statuses.csv"))
    assert result.exit_code == 0, result.output
    assert statuses(run, root) == {
        "on@example.com": ("On Reader", "active"),
        "off@example.com": ("Off Reader", "unsubscribed"),
        "blocked@example.com": ("Blocked Reader", "unsubscribed"),
    }
    exported = run(root, "subscribers", "export", "-").stdout
    assert "blocked@example.com,Blocked Reader,unsubscribed,listmonk: blocklisted" in exported


def test_own_export_imports_back_with_its_statuses(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    first = make_pub(name="first")
    assert run(first, "subscribers", "import", str(FIXTURES / "buttondown.csv")).exit_code == 0
    export = tmp_path / "export.csv"
    assert run(first, "subscribers", "export", str(export)).exit_code == 0
    second = make_pub(name="second")
    assert run(second, "subscribers", "import", str(export)).exit_code == 0
    assert statuses(run, second) == statuses(run, first)


def test_format_option_overrides_detection(make_pub: Publication, run: Run, tmp_path: Path) -> None:
    root = make_pub()
    # A hand-made list that happens to have a 'type' column is not a Buttondown export ...
    handmade = tmp_path / "list.csv"
    handmade.write_text("email,type\nmaybe@example.com,complained\n")
    assert run(root, "subscribers", "import", "--format", "plain", str(handmade)).exit_code == 0
    assert statuses(run, root)["maybe@example.com"][1] == "active"
    # ... and a forced format whose status column is missing is an error, not a guess.
    result = run(root, "subscribers", "import", "--format", "listmonk", str(handmade))
    assert result.exit_code != 0
    assert "--format listmonk: the header has no 'status' column" in result.output


def test_unknown_status_values_are_never_active() -> None:
    for header, row in (
        (["uuid", "email", "attributes", "status"], ["u", "a@x", "{}", "frozen"]),
        (["id", "email", "subscriber_type"], ["1", "a@x", "some_new_kind"]),
        (["Email Address", "LEID", "Status"], ["a@x", "1", "weird"]),
        (
            ["email", "name", "status", "reason", "source", "created", "updated"],
            ["a@x", "", "paused", "", "", "", ""],
        ),
    ):
        export = list_export(header, "export.csv")
        assert export.status_of(row).status == "unsubscribed", header
