"""The subscriber store: who gets the newsletter, kept in the state database.

Addresses are validated and normalised with email-validator (no DNS lookups: a newsroom's
import of 50,000 rows must not take an hour or depend on the resolver) and are unique
case-insensitively. Only ``active`` subscribers are sent to; every other status is kept, not
deleted, so that an unsubscribed or bounced address is never re-added by a later import.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import Problem, UsageError
from ..files import atomic_write
from ..store.database import Connection
from ..text.words import plural
from .csvfile import CsvText, csv_records, read_csv, restore_cell, write_csv
from .list_exports import SKIP, SUPPRESSING, ListExport, header_key, list_export
from .subscriber_table import (
    MIGRATIONS,
    InvalidAddress,
    Status,
    Subscriber,
    ensure_current,
    ensure_subscribers,
    get_subscriber,
    normalize_email,
    plain_address,
    stored_exactly,
    subscriber_from_row,
    utcnow,
)
from .suppressions import lift_suppression, suppressed_status

# The table's names are the store's too: callers import them all from here.
__all__ = [
    "EXPORT_FIELDS",
    "MIGRATIONS",
    "ImportReport",
    "InvalidAddress",
    "RowColumns",
    "Status",
    "Subscriber",
    "add_subscriber",
    "count_by_status",
    "ensure_current",
    "ensure_subscribers",
    "export_csv",
    "get_subscriber",
    "import_csv",
    "list_subscribers",
    "normalize_email",
    "plain_address",
    "remove_subscriber",
    "set_status",
    "stored_exactly",
    "unsubscribe",
    "utcnow",
    "write_export",
]


PROGRESS_EVERY = 100  # rows between progress reports of an import


class RowColumns(Protocol):
    """What an import does with a row's columns besides email and name (see import_csv)."""

    def check(self, cells: Mapping[str, str]) -> str | None: ...

    def apply(
        self, conn: Connection, subscriber: Subscriber, cells: Mapping[str, str]
    ) -> None: ...


EXPORT_FIELDS = ("email", "name", "status", "reason", "source", "created", "updated")


@dataclass(slots=True)
class ImportReport:
    """What an import did: rows added, rows already present, and every bad row."""

    added: int = 0
    existing: int = 0
    suppressed: int = 0  # of ``added``: not active (the export says so, or suppressions.py)
    stopped: int = 0  # of ``existing``: active here, unsubscribed/bounced in the export
    skipped: int = 0  # rows the export itself says not to import (deletion requests)
    format: str = "plain"  # which tool's export it was (list_exports)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # about the whole file

    def summary(self) -> str:
        """One line for the CLI."""
        held = f" ({self.suppressed} kept suppressed: unsubscribed, bounced or complained)"
        stopped = f"; {self.stopped} already present now suppressed as the export says"
        skipped = f"; {plural(self.skipped, 'deletion request')} skipped"
        return (
            f"imported {plural(self.added, 'new subscriber')}, "
            f"{self.existing} already present, {plural(len(self.problems), 'bad row')}"
            + (held if self.suppressed else "")
            + (stopped if self.stopped else "")
            + (skipped if self.skipped else "")
        )


def add_subscriber(
    conn: Connection,
    email: str,
    *,
    name: str = "",
    source: str = "cli",
    status: Status = Status.ACTIVE,
    reason: str = "",
    resubscribe: bool = False,
) -> tuple[Subscriber, bool]:
    """Add an address; returns (subscriber, created).

    An existing address is left as it is (idempotent imports), unless ``resubscribe`` is set:
    then an unsubscribed or bounced address becomes ``status`` again, a deliberate act by an
    editor who has the reader's renewed consent.
    """
    ensure_subscribers(conn)
    address = normalize_email(email)
    name = " ".join(name.split())  # no line breaks or runs of spaces in a To: header
    now = utcnow()
    # A bounced or complaining address stays suppressed, even when re-added by an import.
    held = suppressed_status(conn, address)
    if held is not None and resubscribe and status is Status.ACTIVE:
        lift_suppression(conn, address, why=f"resubscribed ({source})")
        held = None
    initial, reason = held or (status, reason)
    cursor = conn.execute(
        "INSERT INTO subscribers (email, name, status, reason, source, created, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(email) DO NOTHING",
        (address, name, str(initial), reason, source, now, now),
    )
    created = cursor.rowcount == 1
    if not created and resubscribe:
        conn.execute(
            "UPDATE subscribers SET status = ?, reason = ?, updated = ?,"
            " name = CASE WHEN ? != '' THEN ? ELSE name END WHERE email = ?",
            (str(status), reason, now, name, name, address),
        )
    found = get_subscriber(conn, address)
    assert found is not None
    return found, created


def remove_subscriber(conn: Connection, email: str) -> bool:
    """Delete an address and everything the store knows about it (erasure requests)."""
    ensure_subscribers(conn)
    cursor = conn.execute("DELETE FROM subscribers WHERE email = ?", (normalize_email(email),))
    return cursor.rowcount > 0


def set_status(
    conn: Connection, email: str, status: Status, *, reason: str = ""
) -> Subscriber | None:
    """Change an address's status and say why; None when the address is unknown."""
    ensure_subscribers(conn)
    address = normalize_email(email)
    conn.execute(
        "UPDATE subscribers SET status = ?, reason = ?, updated = ? WHERE email = ?",
        (str(status), reason, utcnow(), address),
    )
    return get_subscriber(conn, address)


def unsubscribe(conn: Connection, email: str, *, how: str) -> Subscriber | None:
    """Honour an unsubscribe at once; repeating it is harmless. ``how`` says which channel."""
    current = get_subscriber(conn, email)
    if current is None or current.status is Status.UNSUBSCRIBED:
        return current
    return set_status(conn, email, Status.UNSUBSCRIBED, reason=how)


def list_subscribers(
    conn: Connection, status: Status | None = None
) -> Iterator[Subscriber]:
    """Subscribers in the order they were added, optionally only those with one status."""
    ensure_subscribers(conn)
    if status is None:
        rows = conn.execute("SELECT * FROM subscribers ORDER BY id")
    else:
        rows = conn.execute(
            "SELECT * FROM subscribers WHERE status = ? ORDER BY id", (str(status),)
        )
    for row in rows:
        yield subscriber_from_row(row)


def count_by_status(conn: Connection) -> dict[str, int]:
    """How many subscribers have each status."""
    ensure_subscribers(conn)
    rows = conn.execute("SELECT status, COUNT(*) FROM subscribers GROUP BY status ORDER BY status")
    return {row[0]: row[1] for row in rows}


def import_csv(
    conn: Connection,
    path: Path,
    *,
    source: str | None = None,
    resubscribe: bool = False,
    fmt: str = "auto",
    columns: RowColumns | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Add every good row of a CSV file (header with ``email``, optional ``name``).

    The export's tool is recognised from the header (or ``fmt``, see list_exports): a row it
    marks as unsubscribed, cleaned or bounced is added with that status, never as active,
    and an address already here as active or pending is suppressed too. Bad rows are
    reported as ``file:line: reason`` and skipped; good ones are imported in one
    transaction. Existing addresses are left untouched, so importing twice changes nothing and
    an unsubscribed reader is never re-subscribed by an old export; nor is an address that
    bounced or complained. ``resubscribe`` (the editor has renewed consent) reactivates both.

    ``columns`` (a newsletter publication: ``choices.NewsletterColumns``) checks each row's
    other columns (a bad one is a problem for that row) and applies them to new subscribers.
    """
    ensure_subscribers(conn)
    source_csv = read_csv(path, lambda header: _email_column(header) is not None)
    report = ImportReport()
    if source_csv.encoding == "cp1252":
        report.warnings.append(
            Problem(path, None, "not UTF-8: read as Windows-1252; check accented names", True)
        )
    rows = list(_csv_rows(path, source_csv, report, fmt))
    label = source or f"import:{path.name}"
    conn.execute("BEGIN IMMEDIATE")
    try:
        for done, (line, email, name, (status, reason), cells) in enumerate(rows):
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, len(rows))
            if status == SKIP:
                report.skipped += 1
                continue
            problem = columns.check(cells) if columns is not None else None
            if problem is not None:
                report.problems.append(Problem(path, line, problem))
                continue
            try:
                sub, created = add_subscriber(
                    conn,
                    email,
                    name=name,
                    source=label,
                    resubscribe=resubscribe,
                    status=Status(status),
                    reason=reason,
                )
            except InvalidAddress as exc:
                report.problems.append(Problem(path, line, str(exc)))
                continue
            if created and columns is not None:
                # Another tool's export has its own bookkeeping columns (LEID, OPTIN_TIME,
                # uuid ...): only a plain CSV's or our own extra columns are attributes.
                own = report.format in ("plain", "syndicate")
                columns.apply(conn, sub, cells if own else _only_newsletters(cells))
            if created:
                report.added += 1
                report.suppressed += sub.status is not Status.ACTIVE
            else:
                report.existing += 1
                if status in SUPPRESSING and sub.status in (Status.ACTIVE, Status.PENDING):
                    set_status(conn, sub.email, Status(status), reason=reason)
                    report.stopped += 1
        if progress is not None:
            progress(len(rows), len(rows))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    report.problems.sort(key=lambda p: p.line or 0)
    return report


def _only_newsletters(cells: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in cells.items() if key == "newsletters"}


# Header spellings, compared without case, spaces, '-' and '_': ours and listmonk's
# (email, name), Mailchimp's ("Email Address", "First Name", "Last Name"), Substack's (email
# only) and what spreadsheets in other languages call them.
# The first spelling found wins: a file with both "email" and "E-Mail" uses "email".
_EMAIL_HEADERS = ("email", "emailaddress", "emailadresse", "mail", "courriel")
_NAME_HEADERS = ("name", "fullname", "displayname")
_FIRST_HEADERS = ("firstname", "fname", "givenname", "vorname", "prenom")
_LAST_HEADERS = ("lastname", "lname", "surname", "familyname", "nachname", "nom")


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    """The column of the first of ``names`` present; a verbatim ``email`` beats ``E-Mail``."""
    exact = [cell.strip().lower() for cell in header]
    keys = [header_key(cell) for cell in header]
    for name in names:
        for spelled in (exact, keys):
            if name in spelled:
                return spelled.index(name)
    return None


def _email_column(header: list[str]) -> int | None:
    return _find(header, _EMAIL_HEADERS)


def _csv_rows(
    path: Path, source: CsvText, report: ImportReport, fmt: str
) -> Iterator[tuple[int, str, str, tuple[str, str], dict[str, str]]]:
    """(line, email, name, (status, reason), cells) for each data row; structural problems
    go into the report. The status is what the export's tool says (list_exports); ``cells``
    maps each header to the row's value (the newsletters column and free attributes).

    The name is the ``name`` column, or ``First Name`` and ``Last Name`` joined. A cell our
    own export neutralized (``'=...``) reads back as the text it was (see csvfile).
    """
    records = csv_records(source)
    first = next(records, None)
    if first is None:
        raise UsageError(f"{path}: empty file; expected a header row with 'email'")
    if isinstance(first[1], csv.Error):
        raise UsageError(f"{path}:1: not CSV: {first[1]}")
    header = first[1]
    email_at = _find(header, _EMAIL_HEADERS)
    if email_at is None:
        raise UsageError(
            f"{path}:1: header has no 'email' column (found: {', '.join(header)}); "
            "name it 'email', 'E-Mail' or 'Email Address'"
        )
    name_at = _find(header, _NAME_HEADERS)
    parts = [
        at for at in (_find(header, _FIRST_HEADERS), _find(header, _LAST_HEADERS)) if at is not None
    ]
    if name_at is not None:
        parts = [name_at]
    export: ListExport = list_export(header, path.name, fmt)
    report.format = export.format
    for start, record in records:
        if isinstance(record, csv.Error):
            report.problems.append(Problem(path, start, f"not CSV: {record}"))
            continue
        if not any(cell.strip() for cell in record):
            continue
        if len(record) <= email_at or not record[email_at].strip():
            report.problems.append(Problem(path, start, "no email address in this row"))
            continue
        name = " ".join(
            restore_cell(record[at]).strip() for at in parts if at < len(record)
        ).strip()
        row = export.status_of(record)
        cells = {
            key.strip(): restore_cell(value).strip()
            for key, value in zip(header, record, strict=False)
            if key.strip()
        }
        email = restore_cell(record[email_at].strip())
        yield start, email, name, (row.status, row.reason), cells


def export_csv(
    subscribers: Iterable[Subscriber], extra: Mapping[int, Mapping[str, str]] | None = None
) -> str:
    """The subscribers as CSV text with a header row, importable again by ``import_csv``.

    ``extra`` adds columns per subscriber id (a newsletter publication's ``newsletters``
    and free attributes). Cells that a spreadsheet would run as a formula get a leading
    ``'`` (see csvfile).
    """
    if not extra:
        return write_csv(
            EXPORT_FIELDS,
            ([str(getattr(sub, name)) for name in EXPORT_FIELDS] for sub in subscribers),
        )
    names = list(dict.fromkeys(key for cells in extra.values() for key in cells))
    names.sort(key=lambda key: (key != "newsletters", key))
    empty: Mapping[str, str] = {}
    return write_csv(
        (*EXPORT_FIELDS, *names),
        (
            [str(getattr(sub, name)) for name in EXPORT_FIELDS]
            + [extra.get(sub.id, empty).get(key, "") for key in names]
            for sub in subscribers
        ),
    )


def write_export(
    conn: Connection,
    path: Path,
    status: Status | None = None,
    extra: Mapping[int, Mapping[str, str]] | None = None,
) -> int:
    """Write the export atomically to ``path``; returns the number of rows."""
    subscribers = list(list_subscribers(conn, status))
    atomic_write(path, export_csv(subscribers, extra).encode("utf-8"), mode=0o600)
    return len(subscribers)
