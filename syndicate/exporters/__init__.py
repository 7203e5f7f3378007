"""Exporters turn a publication's selected articles into files, and are found by entry point.

Built-in exporters register in our own pyproject exactly as a third-party package would, under
the entry-point group ``syndicate.exporters``. The group is loaded lazily, on first use.

May import: content, errors, model, text.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

from ..errors import ExportError
from ..model import Article, Artifact, Publication

ENTRY_POINT_GROUP = "syndicate.exporters"


@runtime_checkable
class Exporter(Protocol):
    """Turns a publication's selected articles into files: no writes, no network, no clock.

    ``articles`` are published, sorted newest first and already rendered (``article.html``).
    An exporter with ``enabled_by_default = False`` runs only when config names it.
    """

    name: ClassVar[str]

    def export(self, pub: Publication, articles: Sequence[Article]) -> Sequence[Artifact]: ...


@cache
def registry() -> dict[str, type[Exporter]]:
    """Every installed exporter by name, loaded from entry points on first call."""
    found: dict[str, type[Exporter]] = {}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in found:
            # Two distributions claiming one name: refuse rather than pick one silently.
            raise ExportError(
                f"exporter {point.name!r} is registered twice (second: {point.value}); "
                "uninstall one of the packages"
            )
        found[point.name] = _load(point)
    return found


class _Unloaded:
    """Stands for an installed exporter that this build does not run (not imported)."""

    enabled_by_default = False


def _load(point: EntryPoint) -> type[Exporter]:
    try:
        loaded = point.load()
    except Exception as exc:
        raise ExportError(
            f"exporter {point.name!r} ({point.value}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(loaded, type) or not callable(getattr(loaded, "export", None)):
        raise ExportError(
            f"exporter {point.name!r} ({point.value}) is not a class with an export() method"
        )
    return loaded


# Our own exporters that are off by default: known without importing them, so a build that
# does not use them does not pay for their imports (the digest pulls in Jinja2 and more).
_BUILTIN_OFF = frozenset({"syndicate.exporters.digest:DigestExporter"})


def _points() -> dict[str, EntryPoint]:
    """Every installed exporter's entry point by name (nothing imported); duplicates refused."""
    found: dict[str, EntryPoint] = {}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in found:
            raise ExportError(
                f"exporter {point.name!r} is registered twice (second: {point.value}); "
                "uninstall one of the packages"
            )
        found[point.name] = point
    return found


def enabled_exporters(names: Sequence[str] | None) -> list[Exporter]:
    """Instances of the exporters to run: the named ones, or every default-enabled one.

    Only exporters that may run are imported: every third-party one (to read its
    ``enabled_by_default``, and so that a broken plugin is reported), never an unused
    built-in that is off by default.
    """
    if registry.cache_info().currsize == 0:  # registry() not loaded yet: load lazily
        points = _points()
        if names is None:
            candidates = [name for name, p in points.items() if p.value not in _BUILTIN_OFF]
        else:
            candidates = [name for name in names if name in points]
            candidates += [n for n, p in points.items() if not p.value.startswith("syndicate.")]
        available: dict[str, type[Any]] = {
            name: _load(points[name]) for name in dict.fromkeys(candidates)
        }
        available.update({name: _Unloaded for name in points if name not in available})
    else:
        available = registry()
    if names is None:
        chosen = [
            name for name, cls in available.items() if getattr(cls, "enabled_by_default", True)
        ]
    else:
        unknown = [name for name in names if name not in available]
        if unknown:
            raise ExportError(
                f"[feeds] exporters names {', '.join(map(repr, unknown))}, which "
                f"{'is' if len(unknown) == 1 else 'are'} not installed; installed: "
                f"{', '.join(sorted(available))}"
            )
        chosen = list(dict.fromkeys(names))
    return [available[name]() for name in chosen]
