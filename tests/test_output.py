"""output.py: files are replaced whole or not at all, and unchanged files are not touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.files import StagedWrites, write_many


def test_unchanged_files_keep_their_mtime(tmp_path: Path) -> None:
    same, other = tmp_path / "same.xml", tmp_path / "other.xml"
    same.write_bytes(b"<same/>")
    other.write_bytes(b"<old/>")
    before = same.stat().st_mtime_ns
    assert write_many([(same, b"<same/>"), (other, b"<new/>")]) == [False, True]
    assert same.stat().st_mtime_ns == before
    assert other.read_bytes() == b"<new/>"


def test_nothing_is_replaced_until_commit(tmp_path: Path) -> None:
    feed = tmp_path / "tags" / "x" / "rss.xml"
    feed.parent.mkdir(parents=True)
    feed.write_bytes(b"<old/>")
    with StagedWrites() as staged:
        assert staged.add(feed, b"<new/>")
        assert staged.add(tmp_path / "new" / "atom.xml", b"<feed/>")
        assert feed.read_bytes() == b"<old/>", "readers still see the old feed"
        staged.commit()
    assert feed.read_bytes() == b"<new/>"
    assert (tmp_path / "new" / "atom.xml").read_bytes() == b"<feed/>"
    assert not list(tmp_path.rglob("*.tmp"))


def test_an_error_before_commit_leaves_every_file_as_it_was(tmp_path: Path) -> None:
    feed = tmp_path / "rss.xml"
    feed.write_bytes(b"<old/>")
    with pytest.raises(RuntimeError), StagedWrites() as staged:
        staged.add(feed, b"<new/>")
        raise RuntimeError("the next feed failed to serialise")
    assert feed.read_bytes() == b"<old/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rss.xml"], "no temp file left"
