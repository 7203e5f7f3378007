"""The one place that writes output: atomically, and only files whose bytes changed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import ExportError
from .exporters import Artifact
from .failures import naming


@dataclass(slots=True)
class WriteReport:
    """What a write pass did: changed files (written) and unchanged ones (left alone)."""

    written: list[PurePosixPath] = field(default_factory=list)
    unchanged: list[PurePosixPath] = field(default_factory=list)


def atomic_write(path: Path, content: bytes, *, mode: int = 0o644) -> None:
    """Write via a temp file in the same folder + rename: readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with naming(path), os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp_name).chmod(mode)
        Path(temp_name).replace(path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, content: bytes) -> bool:
    """Write only when the bytes differ, so mtimes (and rsync, HTTP caches) see no change."""
    try:
        if path.stat().st_size == len(content) and path.read_bytes() == content:
            return False
    except FileNotFoundError:
        pass
    atomic_write(path, content)
    return True


def write_artifacts(out_dir: Path, artifacts: Iterable[Artifact]) -> WriteReport:
    """Write every artifact under ``out_dir``; refuse any path that would escape it."""
    report = WriteReport()
    items = list(artifacts)
    targets = [target_path(out_dir, artifact.path) for artifact in items]
    changed = write_many(list(zip(targets, (a.content for a in items), strict=True)))
    for artifact, was_written in zip(items, changed, strict=True):
        (report.written if was_written else report.unchanged).append(artifact.path)
    return report


def target_path(out_dir: Path, relative: PurePosixPath) -> Path:
    """Where ``relative`` lands under ``out_dir``; ExportError if it would escape it."""
    root = out_dir.resolve()
    target = (root / relative).resolve()
    if relative.is_absolute() or not target.is_relative_to(root):
        raise ExportError(f"refusing to write {relative}: outside {out_dir}")
    return target


def write_many(files: Sequence[tuple[Path, bytes]]) -> list[bool]:
    """Write several files atomically, only those whose bytes changed; True for each written."""
    with StagedWrites() as staged:
        changed = [staged.add(path, content) for path, content in files]
        staged.commit()
    return changed


class StagedWrites:
    """Files written as they become ready and published together, each atomically.

    Every changed file goes to a temp file beside it at once and its fsync starts on a thread
    (fsync releases the GIL, and the filesystem batches flushes that one-after-another would
    pay a disk round trip each), so a build can stage feeds while others are still being
    serialised. ``commit`` waits for the flushes and renames the files into place in order;
    leaving the ``with`` block without a commit (an error) removes every temp file, so readers
    see each file either as it was or as it is now, never half-written.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[str, Path]] = []
        self._flushes = ThreadPoolExecutor(8)
        self._pending: list[Future[None]] = []
        self._committed = False

    def __enter__(self) -> StagedWrites:
        return self

    def add(self, path: Path, content: bytes) -> bool:
        """Stage ``content`` for ``path``; False (nothing staged) when the file already holds it."""
        temp_name = write_temp(path, content)
        if temp_name is None:
            return False
        self.adopt(temp_name, path)
        return True

    def adopt(self, temp_name: str, path: Path) -> None:
        """Take over a temp file ``write_temp`` made (maybe in a worker process) for ``path``."""
        self._staged.append((temp_name, path))
        self._pending.append(self._flushes.submit(_fsync_path, temp_name))

    def commit(self) -> None:
        """Wait until every staged file is on disk, then rename each into place."""
        for flush in self._pending:
            flush.result()
        for temp_name, path in self._staged:
            Path(temp_name).chmod(0o644)
            Path(temp_name).replace(path)
        self._committed = True

    def __exit__(self, *exc: object) -> None:
        self._flushes.shutdown(wait=True)
        if not self._committed:
            for temp_name, _ in self._staged:
                Path(temp_name).unlink(missing_ok=True)


def write_temp(path: Path, content: bytes, *, tag: str = "") -> str | None:
    """``content`` in a new temp file beside ``path`` (not yet flushed or renamed), or None
    when ``path`` already holds exactly these bytes. A worker process can call this and hand
    the name to ``StagedWrites.adopt``: the feed's bytes never cross a pipe."""
    if _same(path, content):
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.{tag}." if tag else f".{path.name}."
    fd, temp_name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    try:
        with naming(path), os.fdopen(fd, "wb") as handle:
            handle.write(content)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return temp_name


def _same(path: Path, content: bytes) -> bool:
    try:
        return path.stat().st_size == len(content) and path.read_bytes() == content
    except FileNotFoundError:
        return False


def _fsync_path(name: str) -> None:
    fd = os.open(name, os.O_RDONLY)
    try:
        with naming(name):
            os.fsync(fd)
    finally:
        os.close(fd)
