"""Signed tokens for links in emails: HMAC-SHA256 over (purpose, address), no database lookup.

A token is ``<base64url(address)>.<base64url(mac)>``. It never expires: an unsubscribe link in
a two-year-old email must still work. Only the exact bytes ``make_token`` writes verify: the MAC
covers the address as written (case included), and base64 with stray characters, padding or
non-zero trailing bits is refused, so no one can derive a second valid token from one they hold. The purpose is part of the signed text, so a token made
for one action (``unsubscribe``) cannot be replayed for another (a future ``confirm``). The
secret comes only from the ``SYNDICATE_SECRET`` environment variable; rotating it invalidates
every link already sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping

from ..errors import SyndicateError

SECRET_ENV = "SYNDICATE_SECRET"
MIN_SECRET_LENGTH = 16
UNSUBSCRIBE = "unsubscribe"


class SecretMissing(SyndicateError):
    """SYNDICATE_SECRET is not set (or too short) but a token must be made or checked."""


class BadToken(SyndicateError):
    """A token is malformed (``forged`` False) or its signature does not match (True)."""

    def __init__(self, message: str, *, forged: bool) -> None:
        super().__init__(message)
        self.forged = forged


def load_secret(environ: Mapping[str, str] | None = None) -> bytes:
    """The signing key from $SYNDICATE_SECRET, or a SecretMissing that says how to set it."""
    value = (os.environ if environ is None else environ).get(SECRET_ENV, "")
    if not value:
        raise SecretMissing(
            f"${SECRET_ENV} is not set; unsubscribe links are signed with it. Set it to a long "
            f'random string, e.g. export {SECRET_ENV}="$(python -c '
            "'import secrets; print(secrets.token_urlsafe(32))')\", and keep it the same "
            "for as long as sent emails should stay valid"
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise SecretMissing(
            f"${SECRET_ENV} is only {len(value)} characters; use at least {MIN_SECRET_LENGTH}"
        )
    return value.encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict base64url: only the alphabet, no padding, and the one canonical spelling."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not canonical base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:  # unused trailing bits set: another spelling of the same bytes
        raise ValueError("not canonical base64url")
    return data


_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def _mac(secret: bytes, purpose: str, address: str) -> bytes:
    message = purpose.encode("utf-8") + b"\0" + address.encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).digest()


def _legacy_mac(secret: bytes, purpose: str, address: str) -> bytes:
    """Tokens made by earlier versions signed the lower-cased address (see ``verify_token``)."""
    return _mac(secret, purpose, address.lower())


def make_token(secret: bytes, address: str, purpose: str = UNSUBSCRIBE) -> str:
    """A URL-safe token for ``address`` that only the holder of ``secret`` can make."""
    return f"{_b64(address.encode('utf-8'))}.{_b64(_mac(secret, purpose, address))}"


def verify_token(
    secret: bytes,
    token: str,
    purpose: str = UNSUBSCRIBE,
    *,
    stored: Callable[[str], bool] | None = None,
) -> str:
    """The address a genuine token was made for; BadToken for anything else.

    The whole token is compared with the one we would make, in constant time
    (``hmac.compare_digest``). Links sent before the MAC covered the address's case signed
    it lower-cased; such a token is still honoured when ``stored`` says its address is,
    byte for byte, one we hold (tokens were only ever made from stored addresses), so an
    old unsubscribe link keeps working while a re-cased copy of it does not.
    """
    head, dot, tail = token.partition(".")
    if not dot or not head or not tail or len(token) > 2048:
        raise BadToken("malformed token", forged=False)
    try:
        address = _unb64(head).decode("utf-8")
        _unb64(tail)  # canonical base64url, or ValueError
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadToken("malformed token", forged=False) from None
    if "@" not in address:
        raise BadToken("malformed token", forged=False)
    expected = make_token(secret, address, purpose).encode("ascii")
    if hmac.compare_digest(token.encode("utf-8"), expected):
        return address
    legacy = f"{head}.{_b64(_legacy_mac(secret, purpose, address))}".encode("ascii")
    if (
        stored is not None
        and address != address.lower()
        and hmac.compare_digest(token.encode("utf-8"), legacy)
        and stored(address)
    ):
        return address
    raise BadToken("token signature does not match", forged=True)


def unsubscribe_url(base: str, token: str) -> str:
    """``base`` with ``token=...`` appended, keeping any query string the base already has."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}token={token}"


CLICK = "click"
LINK_SIGNATURE_BYTES = 16  # 128 bits: unguessable, and the click URL stays short


def link_signature(secret: bytes, edition: str, link_id: str, target: str) -> str:
    """The signature of a tracked link: HMAC-SHA256 over (purpose, edition, link id, target).

    The target URL is signed, not only its id: a link row changed in the database (or a
    link id reused for another URL) no longer verifies, so the redirector can only ever send
    a reader where an edition really linked."""
    message = "\0".join((CLICK, edition, link_id, target)).encode("utf-8")
    mac = hmac.new(secret, message, hashlib.sha256).digest()[:LINK_SIGNATURE_BYTES]
    return _b64(mac)


def link_signature_matches(
    secret: bytes, edition: str, link_id: str, target: str, signature: str
) -> bool:
    """Whether ``signature`` is exactly the one ``link_signature`` makes (constant time)."""
    expected = link_signature(secret, edition, link_id, target).encode("ascii")
    return hmac.compare_digest(signature.encode("utf-8", "replace"), expected)
