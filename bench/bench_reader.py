"""Per-message build cost with a per-reader ``first_name``: ``python bench/bench_reader.py``.

Times ``message_builder(...)(job)`` (personalisation, no SMTP) over the demo edition for
templates greeting each reader by a unique ``first_name``: with the one-render fill path, and
with it turned off (a Jinja2 + MJML render and a personalisation template per reader, as
before), plus the built-in templates (no ``reader``) for reference. Setup included.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_smtp import NOW, SECRET, edition_for, publication  # noqa: E402


def build_cost(config_path: Path, count: int, *, fill: bool) -> float:
    """Seconds per message for ``count`` messages, each reader with their own first name."""
    from syndicate.config import load_config
    from syndicate.delivery import send
    from syndicate.delivery.send import Job, message_builder
    from syndicate.delivery.settings import DeliverySettings

    config = load_config(config_path)
    conn, _, rendered = edition_for(config)
    conn.close()
    attributes = {f"reader{n:06d}@example.com": {"first_name": f"Reader{n}"} for n in range(count)}
    real = send._filler
    if not fill:
        send._filler = lambda per_reader, marker: None
    try:
        start = time.perf_counter()
        build = message_builder(
            DeliverySettings.from_config(config),
            rendered,
            SECRET.encode(),
            date=NOW,
            attributes=attributes,
        )
        for n in range(count):
            build(Job(f"reader{n:06d}@example.com", f"Reader {n}", f"<{n}@example.org>", 0))
        return (time.perf_counter() - start) / count
    finally:
        send._filler = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--slow-messages", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["SYNDICATE_SECRET"] = SECRET
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        plain = publication(Path(tmp) / "plain", 25, 1)
        reader = publication(Path(tmp) / "reader", 25, 1, "first_name")
        for _ in range(args.repeat):
            for label, path, count, fill in (
                ("built-in templates (no reader)", plain, args.messages, True),
                ("reader.first_name, one render + fill", reader, args.messages, True),
                ("reader.first_name, render per reader", reader, args.slow_messages, False),
            ):
                cost = build_cost(path, count, fill=fill)
                rows[label] = min(rows.get(label, float("inf")), cost)
    print(f"per-message build cost, best of {args.repeat}, setup included")
    for label, cost in rows.items():
        print(f"{label:<40} {cost * 1e6:>10.0f} µs {1 / cost:>8.0f} msgs/s")


if __name__ == "__main__":
    main()
