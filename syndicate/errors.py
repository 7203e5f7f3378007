"""The exception hierarchy: every user-facing failure is a SyndicateError with a pointed message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input file, printed as ``path:line: message``."""

    path: PurePath | str
    line: int | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        prefix = "warning: " if self.warning else ""
        return f"{where}: {prefix}{self.message}"


class SyndicateError(Exception):
    """Base of every error the CLI reports as a clean message instead of a traceback."""

    exit_code = 1


class ProblemsError(SyndicateError):
    """Several problems found at once; the message lists all of them, one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(ProblemsError):
    """config.toml is missing, malformed or holds a wrong value."""

    @classmethod
    def single(cls, path: PurePath | str, line: int | None, message: str) -> ConfigError:
        """One config problem as an error."""
        return cls([Problem(path, line, message)])


class ContentError(ProblemsError):
    """One or more articles cannot be read."""


class IngestError(ProblemsError):
    """One or more sources of ``syndicate import`` could not be imported (one line each)."""


class TemplateError(SyndicateError):
    """A template (Jinja2 or MJML) failed; the message names the template file and line."""


class ExportError(SyndicateError):
    """An exporter failed or a plugin could not be loaded."""


class DeliveryError(SyndicateError):
    """Sending failed in a way the run cannot continue from."""


class StateError(SyndicateError):
    """The state database is unusable (newer schema, corrupt file, locked too long)."""


class UsageError(SyndicateError):
    """A command was asked for something impossible (bad WHEN, unknown slug, ...)."""
