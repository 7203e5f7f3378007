"""DKIM signing of outgoing messages, and key generation for ``syndicate dkim keygen``.

Mailbox providers want bulk mail signed by the sending domain, and Gmail/Yahoo want the
one-click unsubscribe headers covered by that signature (RFC 8058 section 4): dkimpy's default
header list omits ``List-Unsubscribe-Post``, so we name every signed header ourselves. The
signature is made over the final per-recipient bytes, right before the transport hand-off,
since any later change to a signed header or the body would break it.

Signing is on the send's hot path, once per recipient, so the work is split by cost. dkimpy
(pure Python) spent ~7 ms a message at 2048 bits on the RSA operation in Python integers and
~1.5 ms rewriting every space of a 40 KB body. Now: dkimpy parses the header block and folds
the DKIM-Signature exactly as ``dkim.sign`` does (cheap, and the folding is what receivers
see); the body and the signed headers are canonicalised here with precompiled patterns that
only touch what relaxed canonicalisation changes; and OpenSSL (``cryptography``) signs the
digest, with the key parsed once per process. PKCS#1 v1.5 is deterministic, so the result is
byte-for-byte the header ``dkim.sign`` makes for the same message and ``t=``
(tests/test_dkim_openssl.py checks it, and that ``dkim.verify`` accepts it). Ed25519 is not
offered: ``[email.dkim]`` has only ever made RSA keys.
"""

from __future__ import annotations

import base64
import hashlib
import re
import stat
import time
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import SyndicateError
from ..files import atomic_write

if TYPE_CHECKING:
    from collections.abc import Callable

    from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    from .settings import DkimSettings

# Signed whether present or not: signing an absent header (RFC 6376 5.4) stops anyone from
# adding it later, e.g. a forged List-Unsubscribe on a forwarded copy.
REQUIRED_HEADERS: tuple[str, ...] = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
# Signed when the message has them.
OPTIONAL_HEADERS: tuple[str, ...] = (
    "Reply-To",
    "Cc",
    "List-Id",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
)
DEFAULT_BITS = 2048

# The same names as dkimpy gets them (it lower-cases ``include_headers``), built once.
_REQUIRED = tuple(name.lower().encode("ascii") for name in REQUIRED_HEADERS)
_OPTIONAL = tuple(name.lower().encode("ascii") for name in OPTIONAL_HEADERS)
_SIGNATURE = b"DKIM-Signature"
# Relaxed body canonicalisation (RFC 6376 3.4.4) as dkimpy does it, with patterns that match
# only where something changes: trailing blanks before a line end, then any run of blanks
# that is not already one space.
_TRAILING_BLANKS = re.compile(rb"[\t ]+\r\n")
_BLANK_RUNS = re.compile(rb"[\t ]{2,}|\t")


class DkimError(SyndicateError):
    """The DKIM key cannot be used (missing, unsafe permissions, not a key) or signing failed."""


class _OpenSsl(NamedTuple):
    """What signing needs from ``cryptography``, loaded once."""

    load_pem: Callable[..., PrivateKeyTypes]
    rsa_key: type[RSAPrivateKey]
    unsupported: type[Exception]  # a key type OpenSSL cannot load
    padding: AsymmetricPadding  # PKCS1v15(), stateless
    prehashed: Prehashed  # Prehashed(SHA256()): OpenSSL signs the digest we computed


@cache
def _openssl() -> _OpenSsl:
    """``cryptography``'s RSA pieces, imported with the first key loaded in this process."""
    # lazy: cryptography (~20 ms of OpenSSL bindings) loads with the first DKIM key, not with
    # `syndicate --help` or a send without DKIM
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

    return _OpenSsl(
        load_pem=serialization.load_pem_private_key,
        rsa_key=rsa.RSAPrivateKey,  # type: ignore[type-abstract]  # only for isinstance
        unsupported=UnsupportedAlgorithm,
        padding=padding.PKCS1v15(),
        prehashed=utils.Prehashed(hashes.SHA256()),
    )


@cache
def _dkimpy() -> Any:  # dkimpy has no type hints
    """dkimpy, imported with the first message signed in this process."""
    # lazy: dkimpy (~75 ms: it pulls in dnspython) loads with the first message signed
    import dkim

    return dkim


@lru_cache(maxsize=8)
def load_key(pem: bytes) -> RSAPrivateKey:
    """The RSA private key in ``pem`` (PKCS#1 or PKCS#8), parsed once per process and key.

    Raises ValueError when ``pem`` is not an unencrypted RSA private key.
    """
    openssl = _openssl()
    try:
        key = openssl.load_pem(pem, password=None)
    except (ValueError, TypeError, openssl.unsupported) as exc:
        # TypeError: an encrypted key (cryptography wants its password)
        raise ValueError(str(exc) or type(exc).__name__) from None
    if not isinstance(key, openssl.rsa_key):
        raise ValueError(f"a {type(key).__name__} key, not an RSA key")
    return key


def canonical_body(body: bytes) -> bytes:
    """``body`` (after the header block) canonicalised relaxed, as dkimpy does it.

    dkimpy first turns every ``\\r?\\n`` into CRLF (it splits the message into lines), then
    strips blanks at line ends, squeezes runs of blanks to one space and keeps exactly one
    CRLF at the end (none for an empty body).
    """
    if body.count(b"\n") != body.count(b"\r\n"):
        body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if b"\t" in body or b" \r\n" in body:
        body = _TRAILING_BLANKS.sub(b"\r\n", body)
    if b"\t" in body or b"  " in body:
        body = _BLANK_RUNS.sub(b" ", body)
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    body = body[:end] + b"\r\n"
    return b"" if body == b"\r\n" else body


def split_message(message: bytes) -> tuple[bytes, bytes]:
    """(header block, body) split at the first empty line, either line ending."""
    if message.startswith(b"\n"):
        return b"", message[1:]
    if message.startswith(b"\r\n"):
        return b"", message[2:]
    crlf = message.find(b"\n\r\n")
    # a "\n\n" ending at the "\n" of that "\n\r\n" is the earlier empty line
    lf = message.find(b"\n\n", 0, crlf + 1 if crlf >= 0 else len(message))
    if lf >= 0:
        return message[: lf + 1], message[lf + 2 :]
    if crlf >= 0:
        return message[: crlf + 1], message[crlf + 3 :]
    return message, b""


@dataclass(frozen=True, slots=True)
class DkimSigner:
    """Signs message bytes as ``selector._domainkey.domain`` with one private key.

    The key is parsed when the signer is made (once per process and key: ``load_key`` is
    cached), so a bad key fails before the first message rather than on it.
    """

    selector: str
    domain: str
    private_key: bytes
    _key: RSAPrivateKey = field(init=False, repr=False, compare=False)
    _tags: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            key = load_key(self.private_key)
        except ValueError as exc:
            raise DkimError(f"DKIM key is not a PEM RSA private key: {exc}") from None
        try:
            domain = self.domain.encode("ascii")
            selector = self.selector.encode("ascii")
        except UnicodeEncodeError:
            raise DkimError(
                f"[email.dkim] selector {self.selector!r} / domain {self.domain!r}: DKIM needs "
                "ASCII; write an internationalised domain in its xn-- (IDNA) form"
            ) from None
        # the tags before t=, in dkimpy's order: v a c d i q s
        tags = b"; ".join(
            b"=".join(tag)
            for tag in (
                (b"v", b"1"),
                (b"a", b"rsa-sha256"),
                (b"c", b"relaxed/relaxed"),
                (b"d", domain),
                (b"i", b"@" + domain),
                (b"q", b"dns/txt"),
                (b"s", selector),
            )
        )
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_tags", tags)

    def header_names(self, message: bytes) -> list[str]:
        """The headers to sign for this message: the required ones plus those present."""
        present = {name.lower() for name, _ in self._headers(split_message(message)[0])}
        names = list(REQUIRED_HEADERS)
        names += [name for name in OPTIONAL_HEADERS if name.lower().encode("ascii") in present]
        return names

    @staticmethod
    def _headers(head: bytes) -> list[list[bytes]]:
        """The header block as dkimpy's [name, value] pairs (values keep their CRLFs)."""
        dkim = _dkimpy()
        try:
            headers: list[list[bytes]] = dkim.rfc822_parse(head)[0]
        except dkim.DKIMException as exc:
            raise DkimError(f"DKIM signing failed: {exc}") from None
        return headers

    @staticmethod
    def _include(headers: list[list[bytes]]) -> tuple[bytes, ...]:
        present = {name.lower() for name, _ in headers}
        return _REQUIRED + tuple(name for name in _OPTIONAL if name in present)

    def sign(self, message: bytes, *, timestamp: int | None = None) -> bytes:
        """``message`` with a DKIM-Signature header prepended (relaxed/relaxed, rsa-sha256).

        ``timestamp`` (``t=``, seconds since the epoch) defaults to now; tests pin it.
        """
        dkim = _dkimpy()
        linesep = b"\r\n" if b"\r\n" in message[:4096] else b"\n"
        head, body = split_message(message)
        headers = self._headers(head)
        include = self._include(headers)
        body_hash = base64.b64encode(hashlib.sha256(canonical_body(body)).digest())
        when = int(time.time()) if timestamp is None else timestamp
        fields = b"%s; t=%d; h=%s; bh=%s; b=" % (self._tags, when, b" : ".join(include), body_hash)
        # What dkim.DKIM.gen_header does: fold with a placeholder b= so that b= starts a line
        # of its own, hash the signed headers and this header with b= emptied, then fold
        # again with the signature in place. dkimpy folds and parses the header block (cheap);
        # the canonicalisation and hashing of the signed headers are done here with
        # precompiled patterns (dkimpy's cost ~100 µs a message, a third of the RSA).
        name_length = len(_SIGNATURE)
        unsigned = dkim.fold(fields + b"0" * 60, namelen=name_length, linesep=b"\r\n")
        unsigned = dkim.RE_BTAG.sub(_tag_only, unsigned)
        hasher = hashlib.sha256()
        for name, value in signed_fields(headers, include):
            hasher.update(b"%s:%s\r\n" % (name.lower(), relaxed_value(value)))
        # the DKIM-Signature itself, last and without its line end (RFC 6376 3.7)
        hasher.update(b"dkim-signature:" + relaxed_value(b" " + unsigned))
        openssl = _openssl()
        signature = self._key.sign(hasher.digest(), openssl.padding, openssl.prehashed)
        value = fields + base64.b64encode(signature) + linesep
        folded: bytes = dkim.fold(value, namelen=name_length, linesep=linesep)
        return _SIGNATURE + b": " + folded + message


def signed_fields(headers: list[list[bytes]], names: tuple[bytes, ...]) -> list[list[bytes]]:
    """The header fields ``names`` (lower case) select, as dkimpy's ``select_headers``: each
    name takes the lowest not yet taken copy of that header; a name with none left takes none
    (that is what signs an absent header)."""
    chosen = []
    last: dict[bytes, int] = {}
    for name in names:
        i = last.get(name, len(headers))
        while i > 0:
            i -= 1
            if headers[i][0].lower() == name:
                chosen.append(headers[i])
                break
        last[name] = i
    return chosen


def relaxed_value(value: bytes) -> bytes:
    """A header value canonicalised relaxed (RFC 6376 3.4.2), as dkimpy's ``Relaxed`` does:
    unfolded, runs of blanks squeezed to one space, whitespace at both ends stripped."""
    value = value.replace(b"\r\n", b"").replace(b"\n", b"")
    if b"\t" in value or b"  " in value:
        value = _BLANK_RUNS.sub(b" ", value)
    return value.strip()


def _tag_only(match: re.Match[bytes]) -> bytes:
    """``b=`` without its value: RE_BTAG's group 1 (a function, since a ``b"\\1"`` template
    makes CPython 3.11's ``re`` import itself on every call)."""
    return match.group(1)


def read_private_key(path: Path) -> bytes:
    """The PEM private key at ``path``; refused unless only its owner can read it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DkimError(
            f"{path}: DKIM key file not found; create one with `syndicate dkim keygen --out "
            f"{path}` or fix [email.dkim] key_file"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DkimError(
            f"{path}: DKIM private key is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):03o}); run `chmod 600 {path}`"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DkimError(f"{path}: cannot read DKIM key: {exc}") from None
    try:
        load_key(data)
    except ValueError as exc:
        raise DkimError(
            f"{path}: not a PEM RSA private key ({exc}); make one with `syndicate dkim keygen`"
        ) from None
    return data


def from_domain(from_header: str) -> str:
    """The domain of a From value such as ``News <news@example.org>``."""
    address = parseaddr(from_header)[1]
    return address.rpartition("@")[2].lower()


def signer_for(settings: DkimSettings) -> DkimSigner | None:
    """The configured signer, or None when ``[email.dkim] key_file`` is not set."""
    if settings.key_file is None:
        return None
    if not settings.selector:
        raise DkimError("[email.dkim] key_file is set but selector is empty; set selector")
    if not settings.domain:
        raise DkimError("[email.dkim] has no domain and [email] from has no address; set one")
    key = read_private_key(settings.key_file)
    return DkimSigner(selector=settings.selector, domain=settings.domain, private_key=key)


def sign_message(settings: DkimSettings, message: bytes) -> bytes:
    """The one hook for the sending path: ``message`` signed if DKIM is configured, else as is."""
    signer = signer_for(settings)
    return signer.sign(message) if signer is not None else message


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """The TXT record that publishes a DKIM public key."""

    name: str
    value: str

    def zone_line(self) -> str:
        """The record as a zone-file line, split into 255-byte strings as DNS requires."""
        chunks = [self.value[i : i + 255] for i in range(0, len(self.value), 255)]
        quoted = " ".join(f'"{chunk}"' for chunk in chunks)
        return f"{self.name}. IN TXT ( {quoted} )"


def generate_key(bits: int = DEFAULT_BITS) -> tuple[bytes, bytes]:
    """A new RSA key pair: (private key as PKCS#1 PEM, public key as DER SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization  # only when a key is made
    from cryptography.hazmat.primitives.asymmetric import rsa  # only when a key is made

    if bits < 1024 or bits > 8192:
        raise DkimError(f"--bits {bits}: use between 1024 and 8192 (2048 recommended)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def dns_record(selector: str, domain: str, public_der: bytes) -> DnsRecord:
    """The ``selector._domainkey.domain`` TXT record for a DER public key."""
    value = f"v=DKIM1; k=rsa; p={base64.b64encode(public_der).decode('ascii')}"
    return DnsRecord(name=f"{selector}._domainkey.{domain}", value=value)


def keygen(out: Path, *, selector: str, domain: str, bits: int = DEFAULT_BITS) -> DnsRecord:
    """Write a new private key to ``out`` (mode 600, atomically) and return its DNS record.

    An existing file is never overwritten: replacing a live key before DNS carries the new
    record would make every message fail DKIM.
    """
    if out.exists():
        raise DkimError(f"{out} exists; refusing to overwrite a key (choose another --out)")
    private, public = generate_key(bits)
    atomic_write(out, private, mode=0o600)
    return dns_record(selector, domain, public)


def keygen_for(
    settings: DkimSettings,
    default_path: Path,
    *,
    selector: str | None,
    out: Path | None,
    domain: str | None,
    bits: int,
) -> tuple[Path, DnsRecord]:
    """``syndicate dkim keygen``: options, else ``[email.dkim]``, else sensible defaults
    (``default_path`` when no key file is configured)."""
    chosen_selector = selector or settings.selector or "syndicate"
    chosen_domain = domain or settings.domain
    if not chosen_domain:
        raise DkimError("no domain: pass --domain or set [email] from / [email.dkim] domain")
    path = out or settings.key_file or default_path
    return path, keygen(path, selector=chosen_selector, domain=chosen_domain, bits=bits)
