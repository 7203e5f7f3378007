"""Per-recipient message bytes, fast: the edition's message is serialised once, then each
recipient's copy is spliced together from it.

``message.build_message`` is the reference: it makes a correct message for one recipient, but
Python's email package spends ~3 ms per copy on MIME assembly and (pure-Python)
quoted-printable encoding, which caps a sender near 300 messages/s on one core. Here the
message is built once with stand-in bodies; per recipient only the headers that carry the
recipient (To, Message-ID, List-Unsubscribe) are folded anew, and the bodies are spliced from
pieces encoded once: the text between the edition's placeholders is quoted-printable-encoded
when the run starts, and per copy only the placeholder values (escaped by
``RenderedEdition.fill_html``/``fill_text``: no MJML) are encoded and joined in with QP soft
line breaks, which decode to nothing.

The fast path proves itself before use: for a few awkward sample recipients its output must
parse to exactly the headers and decoded bodies ``build_message`` gives. If it does not (say,
``build_message`` grew another per-recipient header), every copy is made the slow way.
"""

from __future__ import annotations

import binascii
import dataclasses
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING

from ..errors import DeliveryError
from .message import WIRE_POLICY, Recipient, build_message, message_bytes
from .rendered import PLACEHOLDER_FIELDS, ReaderFill, reader_placeholder, sample_readers
from .settings import MessageSettings
from .subscribers import InvalidAddress, plain_address
from .transports import WireMessage

if TYPE_CHECKING:
    from .rendered import RenderedEdition

log = logging.getLogger("syndicate.delivery")

PER_RECIPIENT = ("To", "Message-ID", "List-Unsubscribe")
CRLF = b"\r\n"


SOFT_BREAK = b"=" + CRLF
QP_LINE = 76
_BARE_LF = re.compile(rb"(?<!\r)\n")
SEPARATOR = "\x00"


def qp(data: bytes) -> bytes:
    """Quoted-printable (C implementation) with CRLF line breaks.

    b2a_qp writes soft breaks as bare LF unless the data's first line break is CRLF (a
    one-line HTML piece has none), so bare LFs are made CRLF afterwards.
    """
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    return _BARE_LF.sub(CRLF, encoded) if b"\n" in encoded else encoded


def crlf_text(text: str) -> bytes:
    """UTF-8 text with CRLF line ends and a final line end, as ``set_content`` lays it out."""
    return CRLF.join(text.encode("utf-8").splitlines()) + CRLF


@dataclasses.dataclass(frozen=True, slots=True)
class _Body:
    """A body as encoded constant pieces and the placeholder fields between them."""

    pieces: tuple[bytes | str, ...]

    @classmethod
    def split(cls, source: str, placeholders: dict[str, str]) -> _Body:
        data = crlf_text(source)
        pattern = re.compile(b"|".join(re.escape(p.encode()) for p in placeholders.values()))
        field_of = {p.encode(): field for field, p in placeholders.items()}
        pieces: list[bytes | str] = []
        start = 0
        for match in pattern.finditer(data):
            if match.start() > start:
                pieces.append(qp(data[start : match.start()]))
            pieces.append(field_of[match.group(0)])
            start = match.end()
        if start < len(data):
            pieces.append(qp(data[start:]))
        return cls(tuple(pieces))

    def fill(self, encoded: dict[str, bytes]) -> list[bytes]:
        """The encoded body for one recipient, as pieces to join.

        Pieces are joined directly while the line stays within QP's 76 characters, else
        with a soft line break (b2a_qp already encodes whitespace at the end of each piece).
        """
        out: list[bytes] = []
        column = 0
        for piece in self.pieces:
            chunk = encoded[piece] if isinstance(piece, str) else piece
            if not chunk:
                continue
            newline = chunk.find(CRLF)
            head = len(chunk) if newline < 0 else newline
            if out and column + head > QP_LINE - 1:
                out.append(SOFT_BREAK)
                column = 0
            out.append(chunk)
            last = chunk.rfind(CRLF)
            column = column + len(chunk) if last < 0 else len(chunk) - last - 2
        return out


def _fields(head: bytes) -> list[tuple[str, bytes]]:
    """A header block split into (lower-case name, raw folded field incl. its CRLF)."""
    fields: list[tuple[str, bytes]] = []
    for line in head.split(CRLF):
        if line[:1] in (b" ", b"\t") and fields:
            name, raw = fields[-1]
            fields[-1] = (name, raw + line + CRLF)
        else:
            fields.append((line.split(b":", 1)[0].decode("ascii").lower(), line + CRLF))
    return fields


@dataclasses.dataclass(frozen=True, slots=True)
class _Template:
    fields: list[tuple[str, bytes]]
    before_text: bytes
    between: bytes
    after_html: bytes
    text: _Body
    html: _Body
    probe: RenderedEdition
    order: tuple[str, ...]
    text_source: str | None  # the text, when reader values make it per copy (re-tidied)
    # Each constant part with its line starts' dots doubled (SMTP's dot-stuffing), made once.
    stuffed: dict[bytes, bytes] = dataclasses.field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        constants = [raw for _, raw in self.fields]
        constants += [self.before_text, self.between, self.after_html, SOFT_BREAK]
        constants += [p for p in (*self.text.pieces, *self.html.pieces) if isinstance(p, bytes)]
        self.stuffed.update((c, _double_dots(c)) for c in constants)


class Personalizer:
    """Makes each recipient's wire bytes; ``fast`` says whether the spliced path is in use.

    With ``reader`` (templates that use only plain ``{{ reader.x }}``), ``rendered`` is
    ``reader.rendered``, with a placeholder per attribute, and each call gets the reader's
    attributes: they are spliced into the bodies like the recipient's own values.
    """

    def __init__(
        self,
        settings: MessageSettings,
        rendered: RenderedEdition,
        *,
        date: datetime,
        reader: ReaderFill | None = None,
    ) -> None:
        self._settings = settings
        self._rendered = rendered
        self._date = date
        self._reader = reader
        self._policy = WIRE_POLICY
        self._mailto = settings.unsubscribe_mailto
        self._bytes = message_bytes
        self._template = self._prepare()
        self.fast = self._template is not None

    def __call__(self, recipient: Recipient, attributes: Mapping[str, str] | None = None) -> bytes:
        """The complete message for one recipient, CRLF line ends; on the fast path a
        ``WireMessage`` that carries its SMTP payload too."""
        if self._template is None:
            return self._bytes(self._build(recipient, attributes or {}))
        parts = self._parts(self._template, recipient, attributes or {})
        payload = _payload(parts, self._template.stuffed)
        if payload is None:
            return b"".join(parts)
        message = WireMessage(b"".join(parts))
        message.payload = payload
        return message

    def _build(self, recipient: Recipient, attributes: Mapping[str, str]) -> EmailMessage:
        """The reference: ``build_message`` for this recipient's own copy."""
        rendered = self._rendered if self._reader is None else self._reader.fill(attributes)
        return build_message(self._settings, rendered, recipient, date=self._date)

    def _prepare(self) -> _Template | None:
        tag = secrets.token_hex(8).upper()
        stub_text, stub_html = f"SYNDICATESTUBTEXT{tag}", f"SYNDICATESTUBHTML{tag}"
        stub = dataclasses.replace(self._rendered, text=stub_text, html=stub_html)
        sample = _sample(tag)
        placeholders = {field: self._rendered.placeholder(field) for field in PLACEHOLDER_FIELDS}
        probe = SEPARATOR.join(placeholders.values())
        slots = {}
        if self._reader is not None:
            marker = self._rendered.marker
            slots = {
                _slot(index): reader_placeholder(marker, index)
                for index in range(len(self._reader.slots))
            }
        per_copy = any(p in self._rendered.text for p in slots.values())
        message = build_message(self._settings, stub, sample, date=self._date)
        if not message.is_multipart():
            return None
        # QP bodies can never contain "=_", so this boundary cannot collide with content.
        message.set_boundary(f"=_syndicate_{tag.lower()}")
        head, _, body = self._bytes(message).partition(CRLF + CRLF)
        text_at = body.find(stub_text.encode() + CRLF)
        html_at = body.find(stub_html.encode() + CRLF)
        if text_at < 0 or html_at < text_at or body.count(stub_text.encode()) != 1:
            return None
        template = _Template(
            fields=_fields(head),
            before_text=CRLF + body[:text_at],
            between=body[text_at + len(stub_text) + 2 : html_at],
            after_html=body[html_at + len(stub_html) + 2 :],
            text=_Body.split("" if per_copy else self._rendered.text, placeholders),
            html=_Body.split(self._rendered.html, placeholders | slots),
            probe=dataclasses.replace(self._rendered, text=probe, html=probe),
            order=tuple(placeholders),
            text_source=self._rendered.text if per_copy else None,
        )
        if not self._proves(template, tag):
            log.warning("personalisation: fast path disagrees with build_message; using it")
            return None
        return template

    def _proves(self, template: _Template, tag: str) -> bool:
        """The fast copies of a few awkward recipients equal build_message's, once parsed."""
        parser = BytesParser(policy=email_policy.default)
        readers = sample_readers(self._reader.slots) if self._reader is not None else [{}]
        for recipient in _awkward(tag):
            for attributes in readers:
                raw = self._splice(template, recipient, attributes)
                body = raw.partition(CRLF + CRLF)[2]
                if _BARE_LF.search(raw) or max(map(len, body.split(CRLF))) > QP_LINE:
                    return False
                fast = parser.parsebytes(raw)
                slow = parser.parsebytes(self._bytes(self._build(recipient, attributes)))
                if _shape(fast) != _shape(slow):
                    return False
        return True

    def _header(self, name: str, recipient: Recipient) -> bytes:
        if name == "to":
            header = "To"
            try:
                plain_address(recipient.email)
            except InvalidAddress as exc:
                raise DeliveryError(f"not a usable email address: {exc}") from None
            if _PLAIN_NAME.fullmatch(recipient.name) and recipient.email.isascii():
                value = (
                    f"{recipient.name} <{recipient.email}>" if recipient.name else recipient.email
                )
                if len(value) < 70:
                    return f"To: {value}\r\n".encode("ascii")
            try:
                value = str(Address(display_name=recipient.name, addr_spec=recipient.email))
            except (ValueError, IndexError) as exc:
                raise DeliveryError(
                    f"not a usable email address: {recipient.email!r} ({exc})"
                ) from None
        elif name == "message-id":
            value, header = recipient.message_id, "Message-ID"
            if len(value) < 64 and _PLAIN_ID.fullmatch(value):
                return f"Message-ID: {value}\r\n".encode("ascii")
        else:
            urls = [f"<{url}>" for url in (recipient.unsubscribe_url, self._mailto) if url]
            value, header = ", ".join(urls), "List-Unsubscribe"
            if all(url.isascii() and "," not in url for url in urls):
                return ("List-Unsubscribe: " + ",\r\n ".join(urls) + "\r\n").encode("ascii")
        folded: str = self._policy.header_factory(header, value).fold(policy=self._policy)
        return folded.encode("utf-8" if not folded.isascii() else "ascii")

    def _splice(
        self, template: _Template, recipient: Recipient, attributes: Mapping[str, str]
    ) -> bytes:
        return b"".join(self._parts(template, recipient, attributes))

    def _parts(
        self, template: _Template, recipient: Recipient, attributes: Mapping[str, str]
    ) -> list[bytes]:
        """One recipient's message as the pieces it is joined from."""
        for what, value in (
            ("recipient address", recipient.email),
            ("recipient name", recipient.name),
            ("Message-ID", recipient.message_id),
            ("unsubscribe URL", recipient.unsubscribe_url),
        ):
            if "\r" in value or "\n" in value:
                raise DeliveryError(f"{what} contains a line break (CR/LF): {value!r}")
        parts = [
            self._header(name, recipient) if name in _PERSONAL else raw
            for name, raw in template.fields
        ]
        values = recipient.values()
        fields = template.order
        text_values = template.probe.fill_text(values).split(SEPARATOR)
        html_values = template.probe.fill_html(values).split(SEPARATOR)
        if len(text_values) != len(fields) or len(html_values) != len(fields):
            raise DeliveryError(f"recipient values contain a NUL character: {recipient.email}")
        encoded = {f: qp(v.encode()) for f, v in zip(fields, html_values, strict=True)}
        parts.append(template.before_text)
        if self._reader is None:
            parts += template.text.fill(
                {f: qp(v.encode()) for f, v in zip(fields, text_values, strict=True)}
            )
        else:
            own = self._reader.values(attributes)
            for index, value in enumerate(self._reader.html_values(own)):
                encoded[_slot(index)] = qp(value.encode())
            if template.text_source is None:
                parts += template.text.fill(
                    {f: qp(v.encode()) for f, v in zip(fields, text_values, strict=True)}
                )
            else:
                text = self._reader.fill_text(template.text_source, own)
                filled = dataclasses.replace(self._rendered, text=text).fill_text(values)
                parts.append(qp(crlf_text(filled)))
        parts.append(template.between)
        parts += template.html.fill(encoded)
        parts.append(template.after_html)
        return parts


def _double_dots(part: bytes) -> bytes:
    """A part's own line starts with their leading dots doubled (SMTP's dot-stuffing)."""
    return part.replace(b"\r\n.", b"\r\n..") if b"\r\n." in part else part


def _payload(parts: list[bytes], stuffed: Mapping[bytes, bytes]) -> bytes | None:
    """``smtp.wire_format(b"".join(parts))`` for parts with CRLF line ends only: the
    template's constant parts come dot-stuffed (``stuffed``), the recipient's own are
    stuffed here, and a part that starts a line with a dot gets one more. None if a part
    ends in a CR (a line end split across parts: let ``wire_format`` look at the whole)."""
    out: list[bytes] = []
    at_line_start = True
    for part in parts:
        if not part:
            continue
        if part[-1] == 0x0D:  # "\r"
            return None
        done = stuffed.get(part)
        out.append(_double_dots(part) if done is None else done)
        if at_line_start and part[0] == 0x2E:  # "."
            out[-1] = b"." + out[-1]
        at_line_start = part.endswith(CRLF)
    if not out or not at_line_start:  # a message ends with a line end (an empty one too)
        out.append(CRLF)
    out.append(b"." + CRLF)
    return b"".join(out)


def _slot(index: int) -> str:
    """The body field of reader slot ``index``."""
    return f"reader:{index}"


_PERSONAL = frozenset(name.lower() for name in PER_RECIPIENT)
_PLAIN_NAME = re.compile(r"(?:[A-Za-z0-9]+(?: [A-Za-z0-9]+)*)?")
_PLAIN_ID = re.compile(r"<[A-Za-z0-9._-]+@[A-Za-z0-9.-]+>")


def _sample(tag: str) -> Recipient:
    return Recipient(
        email=f"sample-{tag.lower()}@example.invalid",
        name=f"Sample {tag}",
        unsubscribe_url=f"https://example.invalid/u?token={tag}",
        view_url=f"https://example.invalid/v/{tag}/",
        message_id=f"<{tag}@example.invalid>",
    )


def _awkward(tag: str) -> list[Recipient]:
    """Recipients whose values stress quoting, encoding and folding."""
    long_token = "x" * 150
    return [
        Recipient(
            email="first.last@example.invalid",
            name='Doe, Jäne "JD" Ünïcødé-Ñame with a rather long display name to fold',
            unsubscribe_url=f"https://example.invalid/unsubscribe?a=1&token={long_token}",
            view_url="https://example.invalid/view?x=<y>&z='q'",
            message_id=f"<{tag}.awkward@example.invalid>",
        ),
        Recipient(
            email="plain.name@example.invalid",
            name="Plain Name",
            unsubscribe_url=f"https://example.invalid/unsubscribe?token={tag}",
            view_url="https://example.invalid/v/",
            message_id=f"<{tag}.name@example.invalid>",
        ),
        Recipient(
            email="plain@example.invalid",
            name="",
            unsubscribe_url="https://example.invalid/u?token=t",
            view_url="https://example.invalid/v/",
            message_id=f"<{tag}.plain@example.invalid>",
        ),
    ]


def _shape(message: EmailMessage) -> list[object]:
    """What a reader sees: every header (boundary aside) and every decoded body."""
    shape: list[object] = []
    for part in message.walk():
        for name, value in part.items():
            if name.lower() == "content-type" and part.is_multipart():
                shape.append((name, part.get_content_type()))
            else:
                shape.append((name, str(value)))
        if not part.is_multipart():
            assert isinstance(part, EmailMessage)
            shape.append(part.get_content())
    return shape
