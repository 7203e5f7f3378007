"""Signed tokens for links in emails: HMAC-SHA256 over (purpose, address), no database lookup.

A token is ``<base64url(address)>.<base64url(mac)>``. It never expires: an unsubscribe link in
a two-year-old email must still work. The purpose is part of the signed text, so a token made
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
from collections.abc import Mapping

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
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, address: str) -> bytes:
    message = purpose.encode("utf-8") + b"\0" + address.lower().encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).digest()


def make_token(secret: bytes, address: str, purpose: str = UNSUBSCRIBE) -> str:
    """A URL-safe token for ``address`` that only the holder of ``secret`` can make."""
    return f"{_b64(address.encode('utf-8'))}.{_b64(_mac(secret, purpose, address))}"


def verify_token(secret: bytes, token: str, purpose: str = UNSUBSCRIBE) -> str:
    """The address a genuine token was made for; BadToken for anything else.

    The signature is compared in constant time (``hmac.compare_digest``).
    """
    head, dot, tail = token.strip().partition(".")
    if not dot or not head or not tail or len(token) > 2048:
        raise BadToken("malformed token", forged=False)
    try:
        address = _unb64(head).decode("utf-8")
        signature = _unb64(tail)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadToken("malformed token", forged=False) from None
    if "@" not in address:
        raise BadToken("malformed token", forged=False)
    if not hmac.compare_digest(signature, _mac(secret, purpose, address)):
        raise BadToken("token signature does not match", forged=True)
    return address


def unsubscribe_url(base: str, token: str) -> str:
    """``base`` with ``token=...`` appended, keeping any query string the base already has."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}token={token}"
