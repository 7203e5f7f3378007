"""Bytes of a source file -> text, with the encodings newsroom exports really use.

Decision (README, "syndicate import"): a file is read as UTF-8 (a UTF-8 or UTF-16 byte-order
mark is honoured; an HTML page's declared charset is honoured). Bytes that are not valid
UTF-8 are read as Windows-1252, the encoding of Word and most Windows CMS exports. Latin-1
(ISO-8859-1) needs no step of its own: every printable Latin-1 character has the same byte
in Windows-1252, which only adds printable characters (curly quotes, dashes, €) where
Latin-1 has invisible C1 control codes. A byte sequence is *undecodable* when it is not
UTF-8 and holds one of the five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90,
0x9D): read as Latin-1 these would be C1 control characters, which no real text contains.
A NUL byte, or control characters in more than 1 % of the text, make a file binary.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from ..text.words import plural
from .document import SourceError

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
BINARY_CONTROL_SHARE = 0.01


@dataclass(frozen=True, slots=True)
class Decoded:
    """The text and, when it was not plain UTF-8, a note saying how it was read."""

    text: str
    note: str = ""


def decode(data: bytes, *, html: bool = False) -> Decoded:
    """Source bytes -> text; SourceError (one line) for empty, binary or undecodable files."""
    if not data.strip():
        raise SourceError("empty file")
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32")):
        if data.startswith(bom):
            return _strict(data, codec, "UTF-32")
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _strict(data, codec, "UTF-16")
    if b"\x00" in data:
        raise SourceError("binary file (it contains NUL bytes); expected text, HTML or Markdown")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    declared = _declared_charset(data) if html else None
    if declared is not None and declared not in ("utf-8", "windows-1252"):
        return _strict(data, declared, f"its declared charset {declared}")
    try:
        return _checked(data.decode("utf-8"), "")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
    text = data.decode("utf-8", errors=_FALLBACK)
    note = (
        f"read as Windows-1252: some bytes (the first on line {line}) are not UTF-8; "
        "save the file as UTF-8 to avoid this guess"
    )
    return _checked(text, note)


def _strict(data: bytes, codec: str, label: str) -> Decoded:
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"cannot decode the file as {label}: {exc}") from None
    return _checked(
        text.removeprefix("\ufeff"), "" if label.startswith("UTF") else f"read as {label}"
    )


def _declared_charset(data: bytes) -> str | None:
    match = _CHARSET.search(data[:4096])
    if match is None:
        return None
    name = match.group(1).decode("ascii", "replace").lower()
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    # The web treats Latin-1 and ASCII labels as Windows-1252 (WHATWG Encoding Standard).
    if canonical in ("latin-1", "iso8859-1", "ascii", "cp1252"):
        return "windows-1252"
    return "utf-8" if canonical == "utf-8" else canonical


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a run of bytes that is not UTF-8 is read as Windows-1252."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    chunk = exc.object[exc.start : exc.end]
    try:
        return chunk.decode("cp1252"), exc.end
    except UnicodeDecodeError as inner:
        offset = exc.start + inner.start
        line = exc.object[:offset].count(b"\n") + 1
        raise SourceError(
            f"not UTF-8, Windows-1252 or Latin-1 text: byte 0x{exc.object[offset]:02X} at line "
            f"{line} is undefined in Windows-1252 (a C1 control code in Latin-1); re-save the "
            "file as UTF-8"
        ) from None


_FALLBACK = "syndicate-cp1252"
codecs.register_error(_FALLBACK, _cp1252_fallback)


def _checked(text: str, note: str) -> Decoded:
    controls = _CONTROL.findall(text)
    if len(controls) > max(1, len(text) * BINARY_CONTROL_SHARE):
        raise SourceError(
            f"binary file ({len(controls)} control characters); expected text, HTML or Markdown"
        )
    if controls:
        text = _CONTROL.sub("", text)
        removed = f"removed {plural(len(controls), 'control character')}"
        note = f"{note}; {removed}" if note else removed
    return Decoded(text, note)
