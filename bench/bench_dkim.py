"""DKIM signing per message: dkimpy alone vs syndicate's signer (RSA through OpenSSL).

    python bench/bench_dkim.py [--runs N] [--bits 2048]

A DKIM-signed send signs every recipient's copy, so the signing cost bounds the send rate on
one core. Three ways to sign the same messages, measured in the same run, interleaved (one
call of each in turn, so a busy machine slows all three alike):

- dkimpy: ``dkim.sign`` as syndicate called it before (pure-Python RSA, the key parsed from
  PEM on every call, the header list read with the stdlib's header parser);
- syndicate: ``DkimSigner.sign`` (dkimpy for the header side, our body canonicalisation,
  OpenSSL for RSA with the key parsed once);
- floor: the RSA PKCS#1 v1.5 signature of one SHA-256 digest through OpenSSL, nothing else: no
  signer can go below it.

Before timing, each message is signed both ways with the same ``t=`` and the headers are
checked to be identical. Figures are medians (µs per message) and the messages/s they mean
on one core.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
import types
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syndicate.delivery.dkim import (  # noqa: E402
    OPTIONAL_HEADERS,
    REQUIRED_HEADERS,
    DkimSigner,
    generate_key,
)

SELECTOR = b"s"
DOMAIN = b"bench.test"


def message(size: int) -> bytes:
    """A newsletter-like message of about ``size`` bytes: plain text and HTML, quoted-printable."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Bench Times <news@bench.test>"
    msg["To"] = "reader@example.com"
    msg["Subject"] = "Bench Times: the week — café, naïve, 東京"
    msg["Date"] = "Wed, 25 Nov 2026 08:00:00 +0000"
    msg["Message-ID"] = "<bench.1@bench.test>"
    msg["List-Id"] = "Bench Times <news.bench.test>"
    msg["List-Unsubscribe"] = "<https://bench.test/unsubscribe?token=abc.def>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content("Plain text, a story. " * (size // 60), cte="quoted-printable")
    msg.add_alternative(
        "<p>" + "html <b>story</b> " * (size // 36) + "</p>", subtype="html", cte="quoted-printable"
    )
    return msg.as_bytes()


def dkimpy_sign(private: bytes, data: bytes) -> bytes:
    """syndicate's signing before: ``dkim.sign`` with the header list from the stdlib parser."""
    present = {name.lower() for name in BytesHeaderParser().parsebytes(data).keys()}
    names = list(REQUIRED_HEADERS) + [n for n in OPTIONAL_HEADERS if n.lower() in present]
    linesep = b"\r\n" if b"\r\n" in data[:4096] else b"\n"
    header = dkim.sign(
        data,
        SELECTOR,
        DOMAIN,
        private,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[name.encode("ascii") for name in names],
        linesep=linesep,
    )
    return bytes(header) + data


def check_identical(private: bytes, signer: DkimSigner, data: bytes) -> None:
    """Both paths give the same bytes for the same t= (else the comparison means nothing)."""
    real = dkim.time
    dkim.time = types.SimpleNamespace(time=lambda: 1_796_000_000)
    try:
        old = dkimpy_sign(private, data)
    finally:
        dkim.time = real
    if old != signer.sign(data, timestamp=1_796_000_000):
        raise SystemExit("the two paths sign differently: fix that before timing them")


def interleaved(actions: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median seconds per call of each action, the actions called in turn ``runs`` times."""
    for action in actions.values():
        action()
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(found) for name, found in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200, help="calls of each path per message")
    parser.add_argument("--bits", type=int, default=2048)
    args = parser.parse_args()

    private, _ = generate_key(args.bits)
    signer = DkimSigner(selector=SELECTOR.decode(), domain=DOMAIN.decode(), private_key=private)
    key = serialization.load_pem_private_key(private, password=None)
    pkcs1, prehashed = padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
    digest = hashlib.sha256(b"x").digest()

    def floor() -> bytes:
        return key.sign(digest, pkcs1, prehashed)  # type: ignore[union-attr,call-arg,arg-type]

    print(f"RSA {args.bits}, relaxed/relaxed rsa-sha256, median of {args.runs} calls each")
    print()
    print(
        "| message | dkimpy µs | syndicate µs | floor µs | dkimpy msg/s | syndicate msg/s "
        "| dkimpy / syndicate | syndicate / floor |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in (3_000, 40_000, 150_000):
        data = message(size)
        check_identical(private, signer, data)
        medians = interleaved(
            {
                "dkimpy": lambda data=data: dkimpy_sign(private, data),
                "syndicate": lambda data=data: signer.sign(data),
                "floor": floor,
            },
            args.runs,
        )
        old, new, low = medians["dkimpy"], medians["syndicate"], medians["floor"]
        print(
            f"| {len(data) / 1000:.0f} KB | {old * 1e6:,.0f} | {new * 1e6:,.0f} | {low * 1e6:,.0f} "
            f"| {1 / old:,.0f} | {1 / new:,.0f} | {old / new:.1f}x | {new / low:.2f}x |"
        )


if __name__ == "__main__":
    main()
