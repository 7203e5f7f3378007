"""DKIM signing of outgoing messages (dkimpy), and key generation for ``syndicate dkim keygen``.

Mailbox providers want bulk mail signed by the sending domain, and Gmail/Yahoo want the
one-click unsubscribe headers covered by that signature (RFC 8058 section 4): dkimpy's default
header list omits ``List-Unsubscribe-Post``, so we name every signed header ourselves. The
signature is made over the final per-recipient bytes, right before the transport hand-off,
since any later change to a signed header or the body would break it.
"""

from __future__ import annotations

import base64
import stat
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SyndicateError
from ..files import atomic_write

if TYPE_CHECKING:
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


class DkimError(SyndicateError):
    """The DKIM key cannot be used (missing, unsafe permissions, not a key) or signing failed."""


@dataclass(frozen=True, slots=True)
class DkimSigner:
    """Signs message bytes as ``selector._domainkey.domain`` with one private key."""

    selector: str
    domain: str
    private_key: bytes

    def header_names(self, message: bytes) -> list[str]:
        """The headers to sign for this message: the required ones plus those present."""
        present = {name.lower() for name in BytesHeaderParser().parsebytes(message).keys()}
        names = list(REQUIRED_HEADERS)
        names += [name for name in OPTIONAL_HEADERS if name.lower() in present]
        return names

    def sign(self, message: bytes) -> bytes:
        """``message`` with a DKIM-Signature header prepended (relaxed/relaxed, rsa-sha256)."""
        import dkim  # dkimpy only when signing

        linesep = b"\r\n" if b"\r\n" in message[:4096] else b"\n"
        try:
            signature = dkim.sign(
                message,
                self.selector.encode("ascii"),
                self.domain.encode("ascii"),
                self.private_key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[name.encode("ascii") for name in self.header_names(message)],
                linesep=linesep,
            )
        except dkim.DKIMException as exc:
            raise DkimError(f"DKIM signing failed: {exc}") from None
        return bytes(signature) + message


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
    from dkim.crypto import (  # dkimpy only when a key is loaded
        UnparsableKeyError,
        parse_pem_private_key,
    )

    try:
        parse_pem_private_key(data)
    except (UnparsableKeyError, ValueError, IndexError) as exc:
        raise DkimError(f"{path}: not a PEM RSA private key: {exc}") from None
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
