"""Deliverability costs: DKIM signing per message, bounce processing, archive publishing.

    python bench/bench_deliverability.py [--messages N] [--bounces N] [--editions N]

DKIM signs every per-recipient message during a send, so its cost bounds the send rate; bounce
processing runs over whole mailboxes; the archive is rewritten on every build.
"""

from __future__ import annotations

import argparse
import mailbox
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIXTURES = ROOT / "tests" / "fixtures" / "bounces"
CONFIG = """\
[publication]
title = "Bench Times"
base_url = "https://bench.test"
postal_address = "1 Bench Road"
[email]
from = "Bench Times <news@bench.test>"
"""


def newsletter(size: int = 30_000) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Bench Times <news@bench.test>"
    msg["To"] = "reader@example.com"
    msg["Subject"] = "Bench Times: the week"
    msg["Date"] = "Wed, 25 Nov 2026 08:00:00 +0000"
    msg["Message-ID"] = "<bench.1@bench.test>"
    msg["List-Unsubscribe"] = "<https://bench.test/unsubscribe?token=abc.def>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content("Plain text. " * (size // 40), cte="quoted-printable")
    msg.add_alternative(
        "<p>" + "html " * (size // 5) + "</p>", subtype="html", cte="quoted-printable"
    )
    return msg.as_bytes()


def bench_dkim(count: int) -> list[tuple[str, float, str]]:
    from syndicate.delivery.dkim import DkimSigner, generate_key

    rows = []
    message = newsletter()
    for bits in (1024, 2048):
        private, _ = generate_key(bits)
        signer = DkimSigner(selector="s", domain="bench.test", private_key=private)
        signer.sign(message)
        times = []
        for _ in range(count):
            start = time.perf_counter()
            signer.sign(message)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        rows.append(
            (
                f"DKIM sign, RSA {bits}, {len(message) // 1000} KB message",
                median * 1000,
                f"{1 / median:.0f} msg/s",
            )
        )
    return rows


def bench_bounces(count: int) -> list[tuple[str, float, str]]:
    from syndicate.delivery.bounces import process_paths
    from syndicate.store.database import connect

    templates = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]
    with tempfile.TemporaryDirectory() as scratch:
        box = mailbox.Maildir(Path(scratch) / "bounces", create=True)
        for n in range(count):
            data = templates[n % len(templates)]
            # Distinct notifications: a unique Message-ID per copy (the first is the report's).
            data = re.sub(rb"(?i)^(message-id: *<)", rb"\g<1>%d." % n, data, count=1, flags=re.M)
            box.add(data)
        conn = connect(Path(scratch) / "state.db")
        start = time.perf_counter()
        report = process_paths(conn, [Path(scratch) / "bounces"], soft_limit=3)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        process_paths(conn, [Path(scratch) / "bounces"], soft_limit=3)
        again = time.perf_counter() - start
        conn.close()
    return [
        (f"bounces process: {count} DSNs in a Maildir", cold * 1000, f"{count / cold:.0f} msg/s"),
        (f"same Maildir again ({report.recorded} events known)", again * 1000, "nothing new"),
    ]


def bench_archive(editions: int) -> list[tuple[str, float, str]]:
    from syndicate.config import load_config
    from syndicate.edition.archive import (
        ArchivedArticle,
        ArchivedEdition,
        store,
        write_archive,
    )
    from syndicate.edition.state import ensure_editions_schema
    from syndicate.store.database import connect

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "content").mkdir()
        (root / "config.toml").write_text(CONFIG)
        config = load_config(root / "config.toml")
        conn = connect(config.state_db)
        ensure_editions_schema(conn)
        start_day = datetime(2024, 1, 1, 8, tzinfo=UTC)
        page = "<html><head><title>x</title></head><body>" + "<p>text</p>" * 2000 + "</body></html>"
        for n in range(editions):
            day = start_day + timedelta(days=7 * n)
            edition_id = day.date().isoformat()
            conn.execute(
                "INSERT INTO editions (id, created, status, subject, sent_at)"
                " VALUES (?, ?, 'sent', ?, ?)",
                (edition_id, day.isoformat(), f"Edition {n}", day.isoformat()),
            )
            store(
                conn,
                ArchivedEdition(
                    id=edition_id,
                    subject=f"Edition {n}",
                    created=day,
                    sent_at=day,
                    html=page,
                    articles=tuple(
                        ArchivedArticle(title=f"Story {n}.{k}", url=f"https://bench.test/{n}-{k}/")
                        for k in range(10)
                    ),
                ),
            )
        conn.close()
        out = root / "feeds"
        start = time.perf_counter()
        report, _ = write_archive(config, out)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        again, _ = write_archive(config, out)
        warm = time.perf_counter() - start
    return [
        (f"archive: {editions} editions, first write", cold * 1000, f"{len(report.written)} files"),
        ("archive: rebuild, nothing changed", warm * 1000, f"{len(again.written)} rewritten"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--bounces", type=int, default=1000)
    parser.add_argument("--editions", type=int, default=200)
    args = parser.parse_args()
    rows = bench_dkim(args.messages) + bench_bounces(args.bounces) + bench_archive(args.editions)
    print(f"| {'case':<52} | {'ms':>9} | {'rate':<14} |")
    print(f"|{'-' * 54}|{'-' * 11}|{'-' * 16}|")
    for name, ms, rate in rows:
        print(f"| {name:<52} | {ms:>9.2f} | {rate:<14} |")


if __name__ == "__main__":
    main()
