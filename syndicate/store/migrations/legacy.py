"""The frozen per-component migrations that made every state database before Alembic.

Until revision 0001 each component created and upgraded its own tables at run time from a
``MIGRATIONS`` tuple, versioned per component in ``schema_versions``. Those chains are kept
here, exactly as they were, so that the baseline revision can bring a database made by any
earlier syndicate (each component at any version, or absent) to the baseline schema, and
create it from nothing the same way. Never edit a statement here: a change to the schema is a
new Alembic revision (docs/architecture.md, "Adding a migration").

``apply`` runs inside a transaction the caller holds (the runtime upgrade's BEGIN IMMEDIATE,
or Alembic's), on anything with the ``Connection`` shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

from ...errors import StateError

SCHEMA_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS schema_versions ("
    " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
)

# (component, its migrations) in an order where every table exists before one refers to it.
CHAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # syndicate/delivery/subscriber_table.py
    (
        'subscribers',
        (
            """
        CREATE TABLE subscribers (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'active',
            reason TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE INDEX subscribers_status ON subscribers (status, id)
            """,
        ),
    ),
    # syndicate/edition/state.py
    (
        'editions',
        (
            """
        CREATE TABLE editions (
            id TEXT PRIMARY KEY,
            created TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('draft', 'sending', 'sent')),
            subject TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE TABLE edition_articles (
            edition_id TEXT NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            article_id TEXT NOT NULL,
            PRIMARY KEY (edition_id, position)
        );
        CREATE INDEX edition_articles_article ON edition_articles(article_id)
            """,
        ),
    ),
    # syndicate/delivery/ledger.py
    (
        'ledger',
        (
            """
        CREATE TABLE deliveries (
            edition TEXT NOT NULL,
            email TEXT NOT NULL COLLATE NOCASE,
            subscriber_id INTEGER,
            state TEXT NOT NULL DEFAULT 'queued',
            message_id TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            retry_at TEXT,
            reason TEXT NOT NULL DEFAULT '',
            provider_id TEXT NOT NULL DEFAULT '',
            queued_at TEXT NOT NULL,
            updated TEXT NOT NULL,
            PRIMARY KEY (edition, email)
        );
        CREATE INDEX deliveries_state ON deliveries (edition, state)
            """,
        ),
    ),
    # syndicate/delivery/suppressions.py
    (
        'bounces',
        (
            """
        CREATE TABLE bounce_events (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL COLLATE NOCASE,
            kind TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'reset')),
            status TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            reference TEXT NOT NULL,
            occasion TEXT NOT NULL DEFAULT '',
            happened TEXT NOT NULL,
            recorded TEXT NOT NULL,
            UNIQUE (reference, email, kind)
        );
        CREATE INDEX bounce_events_email ON bounce_events (email, id);
        CREATE TABLE suppressions (
            email TEXT PRIMARY KEY COLLATE NOCASE,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            created TEXT NOT NULL
        )
            """,
        ),
    ),
    # syndicate/delivery/sendruns.py
    (
        'send_runs',
        (
            """
        CREATE TABLE send_runs (
            id INTEGER PRIMARY KEY,
            edition TEXT NOT NULL,
            transport TEXT NOT NULL,
            started TEXT NOT NULL,
            seconds REAL NOT NULL,
            sent INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            deferred INTEGER NOT NULL,
            skipped INTEGER NOT NULL
        );
        CREATE INDEX send_runs_edition ON send_runs (edition, id)
            """,
        ),
    ),
    # syndicate/delivery/clicks.py
    (
        'clicks',
        (
            """
        CREATE TABLE tracked_links (
            edition TEXT NOT NULL,
            link_id TEXT NOT NULL,
            url TEXT NOT NULL,
            position INTEGER NOT NULL,
            clicks INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (edition, link_id)
        )
            """,
        ),
    ),
    # syndicate/delivery/subscriptions.py
    (
        'subscriptions',
        (
            """
        CREATE TABLE subscriptions (
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
            newsletter TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'active',
            cadence TEXT NOT NULL DEFAULT '',
            floor INTEGER,
            how TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            PRIMARY KEY (subscriber_id, newsletter)
        );
        CREATE INDEX subscriptions_newsletter ON subscriptions (newsletter, status, cadence);
        CREATE TABLE subscriber_attributes (
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (subscriber_id, name)
        );
        CREATE INDEX subscriber_attributes_value ON subscriber_attributes (name, value)
            """,
        ),
    ),
    # syndicate/edition/stream.py
    (
        'newsletter_stream',
        (
            """
        CREATE TABLE newsletter_stream (
            newsletter TEXT NOT NULL,
            article_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            added TEXT NOT NULL,
            PRIMARY KEY (newsletter, article_id)
        );
        CREATE INDEX newsletter_stream_seq ON newsletter_stream (newsletter, seq);
        CREATE TABLE newsletter_editions (
            edition_id TEXT PRIMARY KEY REFERENCES editions(id) ON DELETE CASCADE,
            newsletter TEXT NOT NULL,
            cadence TEXT NOT NULL DEFAULT '',
            floor INTEGER NOT NULL,
            upto INTEGER NOT NULL,
            segment TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX newsletter_editions_newsletter ON newsletter_editions (newsletter, cadence)
            """,
        ),
    ),
    # syndicate/web/confirm_outbox.py
    (
        'confirm_outbox',
        (
            """
        CREATE TABLE confirm_outbox (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL,
            address_key TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            requested REAL NOT NULL,
            state TEXT NOT NULL DEFAULT 'queued',
            nonce TEXT UNIQUE,
            expires INTEGER,
            basis TEXT NOT NULL DEFAULT '',
            used REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try REAL NOT NULL DEFAULT 0,
            outcome TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX confirm_outbox_due ON confirm_outbox (state, next_try);
        CREATE INDEX confirm_outbox_key ON confirm_outbox (address_key, requested);
        CREATE INDEX confirm_outbox_email ON confirm_outbox (email)
        """,
        # [newsletters]: the ids ticked on the form (separated by spaces; "" = the defaults).
        """
        ALTER TABLE confirm_outbox ADD COLUMN newsletters TEXT NOT NULL DEFAULT ''
            """,
        ),
    ),
    # syndicate/edition/notice_state.py
    (
        'corrections',
        (
            """
        CREATE TABLE correction_notices (
            send_key TEXT PRIMARY KEY,
            article_id TEXT NOT NULL,
            correction TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('asked', 'sending', 'sent')),
            created TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (article_id, correction)
        )
            """,
        ),
    ),
    # syndicate/edition/archive.py
    (
        'archive',
        (
            """
        CREATE TABLE edition_archive (
            edition_id TEXT PRIMARY KEY,
            subject TEXT NOT NULL,
            created TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            html TEXT NOT NULL,
            articles TEXT NOT NULL,
            stored TEXT NOT NULL
        )
            """,
        ),
    ),
    # syndicate/publish/websub.py
    (
        'websub',
        (
            """
        CREATE TABLE websub_pending (
            hub TEXT NOT NULL,
            url TEXT NOT NULL,
            queued_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (hub, url)
        )
            """,
        ),
    ),
    # syndicate/publish/announce.py
    (
        'announce',
        (
            """
        CREATE TABLE announced_files (
            path TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL
        )
            """,
        ),
    ),
    # syndicate/publish/deploy.py
    (
        'deploy',
        (
            """
        CREATE TABLE deploy_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            signature TEXT NOT NULL DEFAULT '',
            last_success TEXT,
            last_error TEXT NOT NULL DEFAULT ''
        )
            """,
        ),
    ),
    # syndicate/publish/periods.py
    (
        'publish',
        (
            """
        CREATE TABLE publish_periods (
            period TEXT PRIMARY KEY,
            due_at TEXT NOT NULL,
            planned_at TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'empty', 'skipped')),
            edition_id TEXT,
            articles INTEGER NOT NULL DEFAULT 0,
            updated TEXT NOT NULL
        );
        CREATE INDEX publish_periods_due ON publish_periods (due_at)
        """,
        """
        CREATE TABLE publish_marks (name TEXT PRIMARY KEY, value TEXT NOT NULL)
            """,
        ),
    ),
)

# The component whose first installation on a database holding subscribers copies the file
# aside first (``<db>.before-newsletters.bak``): newsletters changed what a subscriber gets.
BACKUP_BEFORE = "subscriptions"
BACKUP_SUFFIX = ".before-newsletters.bak"


class Executor(Protocol):
    """What ``apply`` needs of a connection: ``Connection.execute``."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


def statements(migration: str) -> Iterator[str]:
    """The statements of one migration (``;``-separated, as the old runner split them)."""
    for statement in migration.split(";"):
        if statement.strip():
            yield statement.strip()


def versions(conn: Executor) -> dict[str, int]:
    """Each component's legacy schema version in this database (empty for a new one)."""
    return {str(row[0]): int(row[1]) for row in conn.execute(
        "SELECT component, version FROM schema_versions"
    )}


def apply(conn: Executor, *, postgres: bool = False) -> list[str]:
    """Bring every component to the end of its frozen chain, from whatever version
    ``schema_versions`` records (0 when absent); return the components changed.

    A component newer than its chain here was made by a syndicate this one does not know:
    refused rather than misread. On PostgreSQL ``citext`` (addresses) is installed first."""
    if postgres:
        conn.execute("CREATE EXTENSION IF NOT EXISTS citext")
    conn.execute(SCHEMA_VERSIONS)
    found = versions(conn)
    changed = []
    for component, chain in CHAINS:
        current = found.get(component, 0)
        if current > len(chain):
            raise StateError(
                f"state database has {component} schema v{current}, newer than this syndicate "
                f"(v{len(chain)}); upgrade syndicate"
            )
        if current == len(chain):
            continue
        for migration in chain[current:]:
            for statement in statements(migration):
                conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_versions (component, version) VALUES (?, ?)"
            " ON CONFLICT(component) DO UPDATE SET version = excluded.version",
            (component, len(chain)),
        )
        changed.append(component)
    return changed


def fresh_script(*, postgres: bool) -> list[str]:
    """Every statement ``apply`` runs on an empty database, with literal values: what
    ``syndicate db upgrade --sql`` prints (Alembic's offline mode cannot read the database)."""
    script = ["CREATE EXTENSION IF NOT EXISTS citext"] if postgres else []
    script.append(SCHEMA_VERSIONS)
    for component, chain in CHAINS:
        script.extend(s for migration in chain for s in statements(migration))
        script.append(
            f"INSERT INTO schema_versions (component, version) VALUES ('{component}', {len(chain)})"
        )
    return script


_CREATED_TABLE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)


def baseline_tables() -> list[str]:
    """The tables ``apply`` makes in an empty database, in the order it makes them (the
    chains only create tables and add to them: none is renamed or dropped)."""
    return [m[1] for s in fresh_script(postgres=False) if (m := _CREATED_TABLE.match(s))]


def needs_backup(conn: Executor) -> bool:
    """Whether upgrading this database installs ``BACKUP_BEFORE`` where subscribers exist."""
    found = versions(conn)
    if found.get(BACKUP_BEFORE, 0) or not found.get("subscribers", 0):
        return False
    return conn.execute("SELECT 1 FROM subscribers LIMIT 1").fetchone() is not None
