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
    except UnicodeDecodeError:
        pass
    text, replaced, first = _utf8_then_cp1252(data)
    line = data[:first].count(b"\n") + 1
    note = (
        f"read as Windows-1252: {replaced} byte(s) were not UTF-8 (the first on line {line}); "
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


def _utf8_then_cp1252(data: bytes) -> tuple[str, int, int]:
    """UTF-8 where the bytes are UTF-8, Windows-1252 for each byte that is not."""
    parts: list[str] = []
    replaced = 0
    first = -1
    position = 0
    while position < len(data):
        try:
            parts.append(data[position:].decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            bad = position + exc.start
            parts.append(data[position:bad].decode("utf-8"))
            end = position + exc.end
            for offset in range(bad, end):
                byte = data[offset : offset + 1]
                try:
                    parts.append(byte.decode("cp1252"))
                except UnicodeDecodeError:
                    line = data[:offset].count(b"\n") + 1
                    raise SourceError(
                        f"not UTF-8, Windows-1252 or Latin-1 text: byte 0x{byte.hex().upper()} "
                        f"at line {line} is undefined in Windows-1252 (a C1 control code in "
                        "Latin-1); re-save the file as UTF-8"
                    ) from None
                replaced += 1
                first = offset if first < 0 else first
            position = end
    return "".join(parts), replaced, first


def _checked(text: str, note: str) -> Decoded:
    controls = _CONTROL.findall(text)
    if len(controls) > max(1, len(text) * BINARY_CONTROL_SHARE):
        raise SourceError(
            f"binary file ({len(controls)} control characters); expected text, HTML or Markdown"
        )
    if controls:
        text = _CONTROL.sub("", text)
        removed = f"removed {len(controls)} control character(s)"
        note = f"{note}; {removed}" if note else removed
    return Decoded(text, note)
