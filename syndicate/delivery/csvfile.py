"""CSV in and out: every CSV syndicate writes goes through ``write_csv``, every one it reads
through ``read_csv``.

Writing follows the OWASP CSV-injection rule, because editors open exports in a spreadsheet: a
cell that starts with ``= + - @``, TAB or CR (also after leading spaces or quotes, which some
spreadsheets skip) gets a leading ``'`` so it is shown as text, never run as a formula; NUL
bytes are dropped. ``restore_cell`` undoes exactly that prefix, so our own export imports back
to the very same text (a cell that really began with ``'`` is written as ``''``).

Reading takes what spreadsheets really save: UTF-8 with or without a BOM, UTF-16 (Excel's
"Unicode text"), Windows-1252 (Excel's plain "CSV" on a Western Windows), and a delimiter of
``,`` ``;`` TAB or ``|`` (German Excel writes ``;``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

# OWASP: "Ensure that no cells begin with any of the following characters".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters a spreadsheet may skip before it looks for a formula sign.
_SKIPPED = " \t\r\n\"'"
DELIMITERS = ",;\t|"
_SAMPLE = 64 * 1024


def neutralize_cell(value: str) -> str:
    """``value`` as a spreadsheet will show it as text: no formula, no NUL bytes."""
    value = value.replace("\x00", "")
    if value.startswith(FORMULA_STARTS) or value.lstrip(_SKIPPED).startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """The text ``neutralize_cell`` was given, for a cell it wrote; other cells as they are.

    Only a leading ``'`` that ``neutralize_cell`` would have added is removed, so ``'Bob``
    (no formula behind the quote) stays ``'Bob`` and ``''=1`` reads back as ``'=1``.
    """
    if value.startswith("'") and neutralize_cell(value[1:]) == value:
        return value[1:]
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text (``\\n`` line ends) with every cell neutralized against formula injection."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralize_cell(str(cell)) for cell in header])
    for row in rows:
        writer.writerow([neutralize_cell(str(cell)) for cell in row])
    return buffer.getvalue()


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvText:
    """A CSV file's decoded text and how it was read."""

    text: str
    encoding: str  # "utf-8", "utf-16" or "cp1252"
    delimiter: str


def decode_csv(path: Path, data: bytes) -> tuple[str, str]:
    """(text, encoding) of a CSV file's bytes: UTF-8 (BOM or not), UTF-16 with BOM, or
    Windows-1252 as a fallback; raises UsageError saying how to re-save the file otherwise."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}: not readable as UTF-16: {exc}") from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise UsageError(
            f"{path}: not UTF-8 text ({utf8_error.reason} at byte {utf8_error.start}); "
            "save it as 'CSV UTF-8' and import it again"
        ) from None


def sniff_delimiter(text: str, accepts: Callable[[list[str]], bool]) -> str:
    """The delimiter among ``, ; TAB |`` whose header row ``accepts`` (e.g. has an email column).

    csv.Sniffer's guess on a sample comes first; when it fails, or its header is not accepted,
    each delimiter is tried on the header row. Only the delimiter is taken from the sniffer:
    its quote-character guesses (``'``) would mangle cells that we neutralized.
    """
    sample = text[:_SAMPLE]
    first_line = sample.splitlines()[0] if sample else ""
    candidates: list[str] = []
    try:
        candidates.append(csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter)
    except csv.Error:
        pass
    # Then by how often each appears in the header row (ties: the order of DELIMITERS).
    candidates += sorted(DELIMITERS, key=lambda d: -first_line.count(d))
    for delimiter in candidates:
        if accepts(_header(first_line, delimiter)):
            return delimiter
    return candidates[0]


def _header(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def read_csv(path: Path, accepts: Callable[[list[str]], bool]) -> CsvText:
    """Read and decode ``path`` and choose its delimiter (see ``sniff_delimiter``)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    text, encoding = decode_csv(path, data)
    text = text.replace("\x00", "")
    return CsvText(text=text, encoding=encoding, delimiter=sniff_delimiter(text, accepts))


def csv_records(source: CsvText) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """(line, cells) for each record after reading starts, or (line, error) for a broken one.

    ``line`` is the record's first line in the file, for ``file:line:`` messages.
    """
    reader = csv.reader(io.StringIO(source.text, newline=""), delimiter=source.delimiter)
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, exc
            continue
        yield start, record
