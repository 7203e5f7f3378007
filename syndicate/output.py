"""The one place that writes output: atomically, and only files whose bytes changed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import ExportError
from .exporters import Artifact


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
        with os.fdopen(fd, "wb") as handle:
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
    root = out_dir.resolve()
    for artifact in artifacts:
        target = (root / artifact.path).resolve()
        if artifact.path.is_absolute() or not target.is_relative_to(root):
            raise ExportError(f"refusing to write {artifact.path}: outside {out_dir}")
        if write_if_changed(target, artifact.content):
            report.written.append(artifact.path)
        else:
            report.unchanged.append(artifact.path)
    return report
