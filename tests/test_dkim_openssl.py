"""DKIM through OpenSSL: byte-for-byte the header dkimpy's own ``dkim.sign`` makes, and verified.

The reference is the signing path syndicate used before (dkimpy's pure-Python RSA, the header
list read with the stdlib's header parser). RSA PKCS#1 v1.5 is deterministic, so with ``t=``
pinned both must produce the same bytes; dkimpy's ``dkim.verify`` (DNS answered from a dict)
must accept every new signature and refuse a tampered copy.
"""

from __future__ import annotations

import builtins
import re
import types
from collections.abc import Iterator
from contextlib import contextmanager
from email.header import Header
from email.parser import BytesHeaderParser
from functools import cache
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from dkim.canonicalization import Relaxed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate.delivery.dkim import (
    OPTIONAL_HEADERS,
    REQUIRED_HEADERS,
    DkimError,
    DkimSigner,
    canonical_body,
    dns_record,
    generate_key,
    load_key,
    relaxed_value,
    signed_fields,
    split_message,
)
from tests.test_dkim import dns_table, newsletter_bytes

T = 1_796_000_000  # a pinned t=


@cache
def key_pair(bits: int) -> tuple[bytes, bytes]:
    """One key pair per size for the whole module (2048-bit generation is slow-ish)."""
    return generate_key(bits)


@cache
def signer(bits: int) -> DkimSigner:
    return DkimSigner(selector="s2026", domain="news.test", private_key=key_pair(bits)[0])


def dns(bits: int) -> Any:
    record = dns_record("s2026", "news.test", key_pair(bits)[1])
    return dns_table({record.name: record.value})


@contextmanager
def pinned_clock(when: int) -> Iterator[None]:
    """dkimpy reads ``time.time()`` for t=; pin it for the dkim module only."""
    real = dkim.time
    dkim.time = types.SimpleNamespace(time=lambda: when)
    try:
        yield
    finally:
        dkim.time = real


def dkimpy_sign(private: bytes, message: bytes, when: int) -> bytes:
    """The old path: ``dkim.sign`` with the header list from the stdlib's header parser."""
    present = {name.lower() for name in BytesHeaderParser().parsebytes(message).keys()}
    names = list(REQUIRED_HEADERS) + [n for n in OPTIONAL_HEADERS if n.lower() in present]
    linesep = b"\r\n" if b"\r\n" in message[:4096] else b"\n"
    with pinned_clock(when):
        header = dkim.sign(
            message,
            b"s2026",
            b"news.test",
            private,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[name.encode("ascii") for name in names],
            linesep=linesep,
        )
    return bytes(header) + message


@pytest.mark.parametrize("bits", [1024, 2048])
@pytest.mark.parametrize("linesep", [b"\r\n", b"\n"])
def test_same_bytes_as_dkimpy_and_verified(bits: int, linesep: bytes) -> None:
    message = newsletter_bytes().replace(b"\r\n", linesep)
    new = signer(bits).sign(message, timestamp=T)
    assert new == dkimpy_sign(key_pair(bits)[0], message, T)
    assert dkim.verify(new, dnsfunc=dns(bits))
    assert f"t={T};".encode() in new


def test_default_timestamp_is_now() -> None:
    import time

    before = int(time.time())
    signed = signer(1024).sign(newsletter_bytes())
    stamp = int(re.search(rb"t=(\d+);", signed).group(1))  # type: ignore[union-attr]
    assert before <= stamp <= int(time.time())
    assert dkim.verify(signed, dnsfunc=dns(1024))


# --- many messages ----------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=120)
_body = st.text(
    st.sampled_from(list("ab é=.\t\r\n")) | st.characters(blacklist_categories=("Cs",)),
    max_size=400,
)
_MAYBE = (
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Reply-To",
    "List-Id",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "X-Mailer",
)
_VALUES = {
    "Date": "Wed, 25 Nov 2026 08:00:00 +0100",
    "Message-ID": "<2026-11-25.1@news.test>",
    "List-Unsubscribe": "<https://news.test/unsubscribe?token=abc.def>,\r\n <mailto:u@news.test>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    "Reply-To": "desk@news.test",
    "List-Id": "Test Times   <news.news.test>",
    "In-Reply-To": "<earlier@news.test>",
    "References": "\r\n\t".join(f"<ref{i}@news.test>" for i in range(12)),
    "MIME-Version": "1.0",
    "Content-Type": 'text/plain;\r\n\tcharset="utf-8"',
    "Content-Transfer-Encoding": "8bit",
    "X-Mailer": "syndicate\t test",
}


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """Newsletter-like messages: unicode subjects, folded headers, long bodies, CRLF or LF."""
    subject = Header(draw(_text), "utf-8").encode(linesep="\r\n")
    lines = ["From: Test Times <news@news.test>", f"To: {draw(st.emails())}", f"Subject: {subject}"]
    lines += [f"{name}: {_VALUES[name]}" for name in _MAYBE if draw(st.booleans())]
    if draw(st.booleans()):
        lines.append("Cc: one@news.test,\r\n    two@news.test ,\r\n\tthree@news.test  ")
    order = draw(st.permutations(lines[1:]))
    head = "\r\n".join([lines[0], *order]).encode("utf-8")
    body = draw(_body).encode("utf-8") * draw(st.sampled_from([1, 1, 3, 200]))
    message = head + b"\r\n\r\n" + body
    return message.replace(b"\r\n", b"\n") if draw(st.booleans()) else message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_many_messages_match_dkimpy_and_verify(message: bytes) -> None:
    new = signer(1024).sign(message, timestamp=T)
    assert new == dkimpy_sign(key_pair(1024)[0], message, T)
    assert dkim.verify(new, dnsfunc=dns(1024))


@settings(max_examples=8, deadline=None)
@given(messages())
def test_many_messages_match_dkimpy_at_2048_bits(message: bytes) -> None:
    assert signer(2048).sign(message, timestamp=T) == dkimpy_sign(key_pair(2048)[0], message, T)


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=300)
    | st.text(st.sampled_from(list("a \t\r\n")), max_size=200).map(str.encode)
)
def test_body_canonicalisation_is_dkimpys(body: bytes) -> None:
    _, lines = dkim.rfc822_parse(b"From: x@news.test\r\n\r\n" + body)
    assert canonical_body(body) == Relaxed.canonicalize_body(lines)
    assert split_message(b"From: x@news.test\n\n" + body)[1] == body


_names = st.sampled_from([b"From", b"to", b"Subject", b"X-A", b"cc"])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(_names, st.binary(max_size=40)), max_size=8),
    st.lists(st.sampled_from([b"from", b"to", b"subject", b"cc", b"list-id"]), max_size=8),
)
def test_header_selection_and_canonicalisation_are_dkimpys(
    fields: list[tuple[bytes, bytes]], names: list[bytes]
) -> None:
    headers = [[name, value] for name, value in fields]
    expected = dkim.select_headers(Relaxed.canonicalize_headers(headers), names)
    chosen = signed_fields(headers, tuple(names))
    assert [(n.lower(), relaxed_value(v) + b"\r\n") for n, v in chosen] == expected


# --- tampering --------------------------------------------------------------------------------


def test_tampered_body_or_signed_header_fails_and_unsigned_header_does_not() -> None:
    message = newsletter_bytes()
    signed = signer(2048).sign(message, timestamp=T)
    lookup = dns(2048)
    assert dkim.verify(signed, dnsfunc=lookup)
    assert not dkim.verify(signed.replace(b"Plain text.", b"Plain text!"), dnsfunc=lookup)
    assert not dkim.verify(signed + b"one more line\r\n", dnsfunc=lookup)
    assert not dkim.verify(signed.replace(b"the week", b"the weak"), dnsfunc=lookup)
    assert not dkim.verify(signed.replace(b"token=abc.def", b"token=evil.xyz"), dnsfunc=lookup)
    # relaxed canonicalisation: re-spacing a signed header is not tampering
    assert dkim.verify(signed.replace(b"Subject: Test", b"Subject:   Test"), dnsfunc=lookup)
    # an unsigned header may be added; an absent signed one may not
    assert dkim.verify(signed.replace(b"\r\n\r\n", b"\r\nX-Spam: no\r\n\r\n", 1), dnsfunc=lookup)
    # newsletter_bytes has no Reply-To: an optional header absent when signing is not signed
    assert dkim.verify(
        signed.replace(b"\r\n\r\n", b"\r\nReply-To: x@x.test\r\n\r\n", 1), dnsfunc=lookup
    )
    # ... but one present is, and a second copy of a signed header breaks it (From, per dkimpy)
    assert not dkim.verify(
        signed.replace(b"\r\n\r\n", b"\r\nFrom: evil@x.test\r\n\r\n", 1), dnsfunc=lookup
    )


def test_absent_required_header_is_signed_so_adding_it_fails() -> None:
    message = re.sub(rb"List-Unsubscribe-Post: [^\r]*\r\n", b"", newsletter_bytes())
    signed = signer(2048).sign(message, timestamp=T)
    assert signed == dkimpy_sign(key_pair(2048)[0], message, T)
    lookup = dns(2048)
    assert dkim.verify(signed, dnsfunc=lookup)
    added = signed.replace(
        b"\r\n\r\n", b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n", 1
    )
    assert not dkim.verify(added, dnsfunc=lookup)


# --- keys and the hot path --------------------------------------------------------------------


def test_key_is_parsed_once_per_process() -> None:
    private = key_pair(2048)[0]
    assert load_key(private) is load_key(bytes(private))
    assert DkimSigner("a", "news.test", private)._key is signer(2048)._key


def test_pkcs8_key_signs_like_pkcs1() -> None:
    key = serialization.load_pem_private_key(key_pair(1024)[0], password=None)
    pkcs8 = key.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    again = DkimSigner(selector="s2026", domain="news.test", private_key=pkcs8)
    message = newsletter_bytes()
    assert again.sign(message, timestamp=T) == signer(1024).sign(message, timestamp=T)


@pytest.mark.parametrize(
    ("pem", "expected"),
    [
        (b"not a key", "not a PEM RSA private key"),
        (
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "not an RSA key",
        ),
        (
            rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            ),
            "not a PEM RSA private key",
        ),
    ],
)
def test_unusable_keys_are_refused_when_the_signer_is_made(pem: bytes, expected: str) -> None:
    with pytest.raises(DkimError, match=expected):
        DkimSigner(selector="s", domain="news.test", private_key=pem)


def test_signing_imports_nothing_per_message(monkeypatch: pytest.MonkeyPatch) -> None:
    message = newsletter_bytes()
    signer(2048).sign(message)
    imported: list[str] = []
    real = builtins.__import__

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        imported.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", spy)
    signer(2048).sign(message)
    monkeypatch.undo()
    # dkimpy's hash_headers runs re.sub with a b"\\1" template, which CPython 3.11's _sre
    # expands by importing ``re`` (already loaded: a dict look-up); nothing else may import
    assert set(imported) <= {"re"}, imported
    assert len(imported) <= 1, imported


def test_header_names_are_the_required_ones_plus_those_present() -> None:
    names = signer(1024).header_names(newsletter_bytes())
    assert names[: len(REQUIRED_HEADERS)] == list(REQUIRED_HEADERS)
    assert "Reply-To" not in names and "List-Id" in names and "MIME-Version" in names


def test_a_non_ascii_domain_is_refused_with_the_idna_hint() -> None:
    with pytest.raises(DkimError, match="xn--"):
        DkimSigner(selector="s", domain="bücher.test", private_key=key_pair(1024)[0])
