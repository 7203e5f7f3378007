"""The one place that writes output: atomically, and only files whose bytes changed.

A file of the output folder is first written to a temp file in that folder's *work folder*
(``work_dir``): a hidden folder beside it, ``.feeds.syndicate/`` for ``feeds/``, on the same
filesystem so the final rename is atomic, and outside the tree that a static host serves or
``rsync --delete feeds/`` publishes. Temp files are named after the run's pid, so the next build
removes those of dead runs (``sweep_temp_files``) and leaves a live run's alone. The work folder
also holds the build's manifest (``manifest.py``).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import ExportError, naming
from .model import Artifact


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
    if not items:
        return report
    targets = [target_path(out_dir, artifact.path) for artifact in items]
    files = list(zip(targets, (a.content for a in items), strict=True))
    changed = write_many(files, staging=temp_dir(out_dir))
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


def write_many(files: Sequence[tuple[Path, bytes]], *, staging: Path | None = None) -> list[bool]:
    """Write several files atomically, only those whose bytes changed; True for each written.
    Temp files go to ``staging`` (see ``temp_dir``), or beside each file without it."""
    with StagedWrites(staging) as staged:
        changed = [staged.add(path, content) for path, content in files]
        staged.commit()
    return changed


class StagedWrites:
    """Files written as they become ready and published together, each atomically.

    Every changed file goes to a temp file (in ``staging``) at once and its fsync starts on a
    thread (fsync releases the GIL, and the filesystem batches flushes that one-after-another would
    pay a disk round trip each), so a build can stage feeds while others are still being
    serialised. ``commit`` waits for the flushes and renames the files into place in order;
    leaving the ``with`` block without a commit (an error) removes every temp file, so readers
    see each file either as it was or as it is now, never half-written.
    """

    def __init__(self, staging: Path | None = None) -> None:
        self._staging = staging
        self._staged: list[tuple[str, Path]] = []
        self._flushes = ThreadPoolExecutor(8)
        self._pending: list[Future[None]] = []
        self._committed = False

    def __enter__(self) -> StagedWrites:
        return self

    def add(self, path: Path, content: bytes) -> bool:
        """Stage ``content`` for ``path``; False (nothing staged) when the file already holds it."""
        temp_name = write_temp(path, content, staging=self._staging)
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


def write_temp(
    path: Path, content: bytes, *, tag: str = "", staging: Path | None = None
) -> str | None:
    """``content`` in a new temp file (not yet flushed or renamed), or None when ``path``
    already holds exactly these bytes. A worker process can call this and hand the name to
    ``StagedWrites.adopt``: the feed's bytes never cross a pipe.

    The temp file goes to ``staging`` (the output folder's ``temp_dir``), named
    ``<tag>.XXXX.tmp`` where the tag starts with the pid of the run; without ``staging``,
    beside ``path``."""
    if _same(path, content):
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    if staging is not None:
        prefix = f"{tag or os.getpid()}."
        folder = staging
    else:
        prefix = f".{path.name}.{tag}." if tag else f".{path.name}."
        folder = path.parent
    fd, temp_name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
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


WORK_SUFFIX = ".syndicate"
INSIDE_WORK_DIR = ".syndicate"  # the fallback, inside the output folder (see ``work_dir``)
STALE_TEMP_SECONDS = 86_400.0  # a temp file this old is stale whoever owns the pid now
LEGACY_TEMP_AGE_SECONDS = 60.0  # see ``_sweep_legacy_temp_files``
_RUN_PID = re.compile(r"(\d+)[-.]")


def work_dir(out_dir: Path) -> Path:
    """The output folder's work folder (made if missing): ``.<name>.syndicate/`` beside it.

    If that cannot be made or a file cannot be renamed from it into ``out_dir`` (a mount
    point), the rename would not be atomic: then ``out_dir/.syndicate/`` is used, which a deploy
    should exclude (``rsync --exclude .syndicate``)."""
    found = existing_work_dir(out_dir)
    if found is not None:
        return found
    root = out_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    beside = root.parent / f".{root.name}{WORK_SUFFIX}"
    try:
        beside.mkdir(exist_ok=True)
        if _renames_into(beside, root):
            return beside
        beside.rmdir()
    except OSError:
        pass
    inside = root / INSIDE_WORK_DIR
    inside.mkdir(exist_ok=True)
    return inside


def _renames_into(folder: Path, root: Path) -> bool:
    """Whether a file renames from ``folder`` into ``root``: comparing devices is not enough,
    a bind mount (a read-only one, say) shares its device and still refuses the rename."""
    probe = folder / f"probe-{os.getpid()}"
    target = root / f".syndicate-probe-{os.getpid()}"
    probe.touch()
    try:
        probe.rename(target)
    except OSError:
        probe.unlink()
        return False
    target.unlink()
    return True


def existing_work_dir(out_dir: Path) -> Path | None:
    """The output folder's work folder if there is one already (nothing is made)."""
    root = out_dir.resolve()
    for folder in (root / INSIDE_WORK_DIR, root.parent / f".{root.name}{WORK_SUFFIX}"):
        if folder.is_dir():
            return folder
    return None


def temp_dir(out_dir: Path) -> Path:
    """Where temp files of files under ``out_dir`` are written (made if missing)."""
    folder = work_dir(out_dir) / "tmp"
    folder.mkdir(exist_ok=True)
    return folder


def sweep_temp_files(out_dir: Path) -> int:
    """Remove the temp files of runs that are gone (killed mid-write); return how many.

    A temp file's name starts with the pid of the run that made it (its workers' files too),
    so a live run's files, which it is about to rename, are left alone."""
    removed = _sweep_legacy_temp_files(out_dir)
    work = existing_work_dir(out_dir)
    if work is None or not (work / "tmp").is_dir():
        return removed
    folder = work / "tmp"
    stale = time.time() - STALE_TEMP_SECONDS
    for entry in os.scandir(folder):
        match = _RUN_PID.match(entry.name)
        try:
            if match and pid_alive(int(match.group(1))) and entry.stat().st_mtime > stale:
                continue
            Path(entry.path).unlink()
            removed += 1
        except FileNotFoundError:
            continue
    return removed


def _sweep_legacy_temp_files(out_dir: Path) -> int:
    """Remove ``.name.XXXX.tmp`` files that versions before the work folder left *inside* the
    output folder when killed. Their names carry no pid, so one older than
    ``LEGACY_TEMP_AGE_SECONDS`` counts as a dead writer's; left alone it would be deployed."""
    if not out_dir.is_dir():
        return 0
    cutoff = time.time() - LEGACY_TEMP_AGE_SECONDS
    removed = 0
    for path in out_dir.rglob(".*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user's counts: it cannot be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
