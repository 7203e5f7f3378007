"""Helpers for delivery tests: a publication wired to a local SMTP sink, bulk subscribers,
and checks on what the sink received."""

from __future__ import annotations

import re
from pathlib import Path

from syndicate.config import Config, load_config
from syndicate.delivery import ledger
from syndicate.delivery.subscribers import add_subscriber, ensure_subscribers
from syndicate.delivery.tokens import verify_token
from syndicate.store.database import connect
from tests.conftest import Publication, article

SECRET = "delivery-tests-secret-0123456789"
NOW = "2026-11-20T10:00:00+01:00"
LATER = "2026-11-28T10:00:00+01:00"

ARTICLES = {
    "first.md": article(
        "Council approves the river park",
        date="2026-11-16T09:00:00+01:00",
        summary="The vote was close.",
        body="The council voted 21 to 19 for the park.\n",
    ),
}
SECOND = article(
    "Tram line opens", date="2026-11-24T09:00:00+01:00", summary="First riders.", body="Ding.\n"
)
TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


def smtp_pub(
    make_pub: Publication,
    port: int,
    *,
    connections: int = 2,
    rate: float = 0,
    retry_delay: float = 0.05,
    retries: int = 3,
    max_errors: int = 50,
    name: str = "pub",
    extra: str = "",
    articles: dict[str, str | bytes] | None = None,
    email_keys: str = "",
    sending: str = "",
) -> Path:
    """A publication sending through 127.0.0.1:port with fast in-run retries."""
    return make_pub(
        ARTICLES if articles is None else articles,
        name=name,
        extra=extra,
        email=(
            email_keys + 'transport = "smtp"\n'
            "[email.smtp]\n"
            f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = 10\n'
            f"connections = {connections}\nrate = {rate}\n"
            "[email.sending]\n"
            f"retry_delay = {retry_delay}\nretries = {retries}\nmax_errors = {max_errors}\n"
            + sending
        ),
    )


def config_of(root: Path) -> Config:
    return load_config(root / "config.toml")


def address(n: int) -> str:
    return f"reader{n:05d}@example.com"


def add_many(root: Path, count: int, *, start: int = 0) -> list[str]:
    """``count`` active subscribers, added in one transaction; returns their addresses."""
    conn = connect(config_of(root).state_target)
    ensure_subscribers(conn)
    emails = [address(n) for n in range(start, start + count)]
    conn.execute("BEGIN")
    for n, email in enumerate(emails, start=start):
        add_subscriber(conn, email, name=f"Reader {n}", source="test")
    conn.execute("COMMIT")
    conn.close()
    return emails


def ledger_rows(root: Path, state: ledger.RowState | None = None) -> list[ledger.Delivery]:
    """Every ledger row (of every edition), optionally only one state."""
    conn = connect(config_of(root).state_target)
    try:
        return [
            row
            for summary in ledger.editions(conn)
            for row in ledger.rows(conn, summary.edition, state)
        ]
    finally:
        conn.close()


def token_of(data: bytes) -> str:
    """The unsubscribe token in a message's List-Unsubscribe header."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n[ \t]+", " ", head)
    match = re.search(r"^List-Unsubscribe: <[^>]*?[?&]token=([^>&]+)>", unfolded, re.MULTILINE)
    assert match is not None, head
    return match.group(1)


def assert_personal_token(data: bytes, recipient: str) -> None:
    """The message's header and body links carry a valid token for exactly ``recipient``."""
    token = token_of(data)
    assert verify_token(SECRET.encode(), token).lower() == recipient.lower()
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(data)
    for kind in ("plain", "html"):
        part = message.get_body((kind,))
        assert part is not None
        found = set(TOKEN.findall(part.get_content()))
        assert found == {token}, (kind, found)
