"""Which files of an output folder ``build`` made, so that it can remove those it no longer makes.

A retracted article (``draft = true``, a date moved into the future, its only tag dropped) must
leave the feeds: the feeds of a tag or section that no published article carries any more are
not produced by the next build, and without a record they would stay published for ever. The
manifest (``manifest.json`` in the output folder's work folder, ``output.work_dir``) lists every
file that builds wrote there; a listed file the current build does not produce is deleted, with
the folders that this leaves empty. A file syndicate did not write is never listed, so never
deleted; nor is the newsletter archive, whose pages outlive any article.

Crash safety: the files a build is about to write are added to the manifest (written
atomically) *before* they are renamed into place, and the pruned list is written after the
deletions, so a run killed anywhere leaves a manifest that lists at least every file syndicate
made: the next build finishes the removal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import ExportError
from ..files import existing_work_dir, target_path, temp_dir, work_dir

FILE_NAME = "manifest.json"
VERSION = 1


class Manifest:
    """The files that builds wrote under one output folder (paths relative to it)."""

    def __init__(self, out_dir: Path, files: Iterable[str] = ()) -> None:
        self.out_dir = out_dir
        self.files: set[str] = set(files)

    @classmethod
    def load(cls, out_dir: Path, *, seed: Iterable[str] = ()) -> Manifest:
        """The manifest of ``out_dir``; without one (a first build, or one of a version that
        kept none), ``seed``: files that the build cache remembers writing there."""
        work = existing_work_dir(out_dir)
        if work is None:
            return cls(out_dir, seed)
        try:
            data = json.loads((work / FILE_NAME).read_bytes())
            files = data["files"] if data.get("version") == VERSION else []
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(out_dir, seed)
        return cls(out_dir, (name for name in files if isinstance(name, str)))

    def claim(self, paths: Iterable[PurePosixPath]) -> None:
        """Record files about to be written (before they appear in the folder)."""
        new = {path.as_posix() for path in paths} - self.files
        if new:
            self.files |= new
            self._save()

    def prune(self, keep: Iterable[PurePosixPath]) -> list[PurePosixPath]:
        """Delete the listed files that are not in ``keep`` (what this build produces) and the
        folders that leaves empty; return the deleted files' paths."""
        wanted = {path.as_posix() for path in keep}
        gone = sorted(self.files - wanted)
        if not gone:
            return []
        removed = [PurePosixPath(name) for name in gone if self._remove(PurePosixPath(name))]
        self.files &= wanted
        self._save()
        return removed

    def _remove(self, relative: PurePosixPath) -> bool:
        try:
            target = target_path(self.out_dir, relative)
        except ExportError:
            return False  # a tampered entry pointing outside the folder: never followed
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        except IsADirectoryError:
            return False
        root = self.out_dir.resolve()
        folder = target.parent
        while folder != root and folder.is_relative_to(root):
            try:
                folder.rmdir()  # only succeeds when empty: a user's file keeps its folder
            except OSError:
                break
            folder = folder.parent
        return True

    def _save(self) -> None:
        data = json.dumps({"version": VERSION, "files": sorted(self.files)}, indent=0)
        path = work_dir(self.out_dir) / FILE_NAME
        temp = temp_dir(self.out_dir) / f"{os.getpid()}.manifest.tmp"
        with temp.open("wb") as handle:
            handle.write(data.encode())
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
