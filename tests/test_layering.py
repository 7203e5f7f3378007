"""The package layout is the architecture: every import must follow the allowed table.

Each module of ``syndicate`` belongs to one part (a package, or one of the few shared
modules at the root). A part may import only the parts listed for it in ``ALLOWED``;
dependencies point one way (cli -> api -> publish -> build/edition/web/ingest ->
delivery/exporters -> content/text/store -> config -> model), so there is no cycle.

The test reads every module's AST. A module imports the other syndicate modules it needs at
its top: an import of one inside a function hides an arrow and fails here. Inside a function
only a heavy third-party library may be imported (markdown-it, nh3, Jinja2, feedgen, lxml,
PyYAML, trafilatura ..., loaded where it is used so that ``syndicate --help`` and a no-op build
stay light), with a comment saying why. Those imports still count for the table and the
cycle checks. Imports under ``if TYPE_CHECKING:`` do not count (they never run).

An import by name (``importlib.import_module``) is invisible to all of this, so it is allowed
only where ``DYNAMIC_IMPORTS`` says why.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "syndicate"

# part -> the parts it may import (its own modules always). ``syndicate`` (the root
# package: its version and the lazy library API) may be imported by anyone.
ALLOWED: dict[str, frozenset[str]] = {
    name: frozenset(parts)
    for name, parts in {
        "model": (),
        "errors": (),
        "crashpoints": (),
        "files": ("errors", "model"),
        "config": ("model", "errors"),
        "store": ("errors", "files"),
        "content": ("model", "errors", "config", "files"),
        "text": ("model", "errors", "config", "content"),
        "exporters": ("model", "errors", "content", "text"),
        "delivery": ("model", "errors", "config", "files", "crashpoints", "store", "content", "text"),
        "build": (
            "model", "errors", "config", "files", "crashpoints", "store", "content", "text",
            "exporters", "delivery",
        ),
        "edition": (
            "model", "errors", "config", "files", "crashpoints", "store", "content", "text",
            "exporters", "delivery",
        ),
        "web": ("model", "errors", "config", "files", "store", "content", "text", "delivery"),
        "ingest": ("model", "errors", "config", "files", "content", "text", "delivery"),
        "scaffold": ("errors", "files"),
        "report": (
            "model", "errors", "config", "files", "store", "content", "text", "delivery",
            "build", "edition",
        ),
        "publish": (
            "model", "errors", "config", "files", "crashpoints", "store", "content", "text",
            "exporters", "delivery", "build", "edition", "web",
        ),
        "api": (
            "model", "errors", "config", "files", "store", "content", "text", "exporters",
            "delivery", "build", "edition", "ingest", "publish", "report",
        ),
        "cli": (
            "model", "errors", "config", "files", "store", "content", "text", "exporters",
            "delivery", "build", "edition", "web", "ingest", "scaffold", "publish", "api",
            "report",
        ),
    }.items()
}  # fmt: skip


# (module, syndicate module it imports inside a function) -> why. The import still counts for
# the table and the cycle checks; it only escapes the rule that imports stand at the top.
LOCAL_IMPORTS: dict[tuple[str, str], str] = {
    ("syndicate.publish.site", "syndicate.edition.archive"): (
        "the archive brings the edition renderer and the delivery ledger (~25 modules): a "
        "feeds-only publication (no state database) never loads them, so its no-op builds "
        "cost what they did before imports moved to the top (~13% fewer instructions)"
    ),
}

# module -> why it may import by name. Each stays inside its own part, so no arrow is hidden.
DYNAMIC_IMPORTS: dict[str, str] = {
    "syndicate": (
        "PEP 562 __getattr__: `from syndicate import Publication` loads the library API on "
        "first use, so `import syndicate` (paid by every CLI start) loads none of the core"
    ),
    "syndicate.store.migrations.revisions": (
        "the schema's revision files are named by id (rNNNN_slug.py), as Alembic finds them; "
        "statement-only ones are applied at SQLite start-up without loading Alembic"
    ),
    "syndicate.cli": (
        "PEP 562 __getattr__ for `cli`, and `main` loading cli/fastpath.py for a build only: "
        "the no-op build's stdlib-only check runs before click and the root group load, and "
        "other commands (`--help`) do not pay for it"
    ),
    "syndicate.cli.group": (
        "click's lazy subcommands: a command's module (syndicate.cli.*) is imported when the "
        "command runs, and `--help` lists the summaries in COMMANDS (as pip does)"
    ),
}


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement's target, as seen from one module."""

    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    line: int
    local: bool  # inside a function
    comment: str  # the source line(s), to look for the "why" comment


def module_name(path: Path, root: Path) -> str:
    """``syndicate/content/sources.py`` -> ``syndicate.content.sources``."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str | None:
    """``syndicate.content.sources`` -> ``content``; ``syndicate`` -> ``syndicate``."""
    pieces = module.split(".")
    if pieces[0] != "syndicate":
        return None
    if len(pieces) == 1:
        return "syndicate"
    return pieces[1] if pieces[1] in ALLOWED else None


def imports_of(path: Path, root: Path) -> Iterator[Import]:
    """Every import in the file that runs (``TYPE_CHECKING`` blocks skipped)."""
    source = path.read_text(encoding="utf-8")
    yield from _imports_in(source, module_name(path, root), path.name == "__init__.py")


# Keyed on the exact source text and module name, so a planted copy of the package re-reads only
# the file it changed: parsing and walking all ~180 modules cost ~1.5 s of CPU per violations()
# call, and the planted-violation tests made ~16 such calls.
@functools.cache
def _imports_in(source: str, module: str, is_package: bool) -> tuple[Import, ...]:
    tree = ast.parse(source)
    return tuple(_walk(tree, module, is_package, source.splitlines(), local=False))


def _walk(
    node: ast.AST, module: str, is_package: bool, lines: list[str], *, local: bool
) -> Iterator[Import]:
    block_start = 0  # first line of the run of import statements the current one belongs to
    previous: ast.AST | None = None
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            yield from (i for n in child.orelse for i in _walk(n, module, is_package, lines, local=local))
            previous = child
            continue
        inside = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        if isinstance(child, ast.Import | ast.ImportFrom):
            if not isinstance(previous, ast.Import | ast.ImportFrom):
                block_start = child.lineno
            # The "why" may stand on the line above the run of imports or on any line of it.
            text = "\n".join(lines[max(block_start - 2, 0) : child.end_lineno or child.lineno])
            for target in _targets(child, module, is_package):
                yield Import(module, target, child.lineno, local, text)
        previous = child
        yield from _walk(child, module, is_package, lines, local=inside)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join([*base, node.module] if node.module else base)
    else:
        prefix = node.module or ""
    # ``from syndicate import config`` names a module: the arrow points at it.
    return [
        f"{prefix}.{alias.name}" if _is_module(f"{prefix}.{alias.name}") else prefix
        for alias in node.names
    ]


@functools.cache  # the package on disk does not change during a test run
def _is_module(dotted: str) -> bool:
    pieces = dotted.split(".")
    if pieces[0] != "syndicate":
        return False
    path = PACKAGE.parent.joinpath(*pieces)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def all_imports(root: Path) -> list[Import]:
    return [i for path in sorted(root.rglob("*.py")) for i in imports_of(path, root)]


def violations(
    root: Path,
    allowed: Mapping[str, frozenset[str]] = ALLOWED,
    local_allowed: Mapping[tuple[str, str], str] = LOCAL_IMPORTS,
) -> list[str]:
    """Every breach of the rules, as ``module:line: message``."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        if part_of(name) is None:
            found.append(f"{name}: belongs to no part; add it to a package or to ALLOWED")
    for imp in all_imports(root):
        here, there = part_of(imp.module), part_of(imp.target)
        where = f"{imp.module}:{imp.line}"
        internal = imp.target.split(".")[0] == "syndicate"
        if imp.local and internal and (imp.module, imp.target) not in local_allowed:
            found.append(
                f"{where}: function-local import of a syndicate module ({imp.target}); "
                "import it at the top of the module"
            )
        elif imp.local and "#" not in imp.comment:
            found.append(f"{where}: function-local import of {imp.target} without a comment why")
        if not internal:
            continue
        if here is None or there is None or here == there or there == "syndicate":
            continue
        if there not in allowed.get(here, frozenset()):
            found.append(f"{where}: {here} may not import {there} ({imp.target})")
    found.extend(dynamic_imports(root))
    found.extend(f"cycle between parts: {' -> '.join(c)}" for c in part_cycles(root))
    found.extend(f"cycle between modules: {' -> '.join(c)}" for c in module_cycles(root))
    return found


def dynamic_imports(root: Path) -> Iterator[str]:
    """Imports by name (``importlib.import_module``, ``__import__``) outside ``DYNAMIC_IMPORTS``."""
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        for lineno, name in _calls_by_name(path.read_text(encoding="utf-8")):
            if module not in DYNAMIC_IMPORTS:
                yield (
                    f"{module}:{lineno}: import by name ({name}); import at the top, "
                    "or say why in DYNAMIC_IMPORTS"
                )


@functools.cache  # by source text, as _imports_in
def _calls_by_name(source: str) -> tuple[tuple[int, str], ...]:
    """(line, function) of every ``import_module(...)`` / ``__import__(...)`` call."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("import_module", "__import__"):
            found.append((node.lineno, name))
    return tuple(found)


def part_cycles(root: Path) -> list[list[str]]:
    """Cycles in the graph of parts drawn from the actual imports (function-local ones too)."""
    graph: dict[str, set[str]] = {}
    for imp in all_imports(root):
        here, there = part_of(imp.module), part_of(imp.target)
        if here and there and here != there and there != "syndicate":
            graph.setdefault(here, set()).add(there)
    return cycles_in(graph)


def module_cycles(root: Path) -> list[list[str]]:
    """Cycles between modules, lazy imports included: a function-local import may keep a
    start-up light, never hide a loop (``a`` needs ``b`` needs ``a``)."""
    graph: dict[str, set[str]] = {}
    for imp in all_imports(root):
        # A package's ``__init__`` runs before its modules; an arrow to it is not a loop.
        if imp.target.startswith("syndicate.") and not imp.module.startswith(imp.target + "."):
            graph.setdefault(imp.module, set()).add(imp.target)
    return cycles_in(graph)


def cycles_in(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle per back edge found by a depth-first search."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_the_allowed_table_has_no_cycle() -> None:
    state: dict[str, int] = {}

    def acyclic(node: str) -> bool:
        if state.get(node) == 1:
            return False
        if state.get(node) == 2:
            return True
        state[node] = 1
        ok = all(acyclic(n) for n in ALLOWED[node])
        state[node] = 2
        return ok

    assert all(acyclic(part) for part in ALLOWED)


def test_every_import_follows_the_allowed_table() -> None:
    assert violations(PACKAGE) == []


def test_the_root_holds_packages_and_a_handful_of_shared_modules() -> None:
    loose = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= 6, loose


def test_every_package_says_what_it_owns_and_may_import() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, f"{init}: the docstring must say what it may import"
        part = init.parent.name
        if part in ALLOWED:
            listed = set(doc.split("May import", 1)[1].replace(",", " ").replace(".", " ").split())
            missing = {p for p in ALLOWED[part] if p not in listed}
            assert not missing, f"{init}: the docstring omits {sorted(missing)}"


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    """A copy of the package with some files replaced: the checker's own fixture."""
    root = tmp_path / "syndicate"
    for path in PACKAGE.rglob("*.py"):
        target = root / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for rel, text in files.items():
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("rel", "code", "expected"),
    [
        # the arrows the restructuring removed: each would be caught again
        ("exporters/atom.py", "from ..config import key_line\n", "exporters may not import config"),
        ("delivery/send.py", "from ..edition.state import mark_sent\n", "delivery may not import edition"),
        ("content/sources.py", "from ..build.workers import parse_all\n", "content may not import build"),
        ("config/loading.py", "from ..publish.schedule import cron_problem\n", "config may not import publish"),
        ("delivery/send.py", "def f():\n    from ..publish.lock import run_lock\n", "function-local import"),
        # an internal import inside a function fails even with a reason and an allowed arrow
        (
            "build/pipeline.py",
            "def f():\n    # lazy: a no-op build returns before it needs this\n    from ..content import articles\n",
            "function-local import of a syndicate module (syndicate.content.articles)",
        ),
        ("cli/build.py", "def f():\n    import syndicate.publish.run  # lazy\n", "import it at the top"),
        # a third-party library may be imported lazily, with its reason
        ("content/limits.py", "def f():\n    import yaml\n", "without a comment why"),
        # an import by name hides the arrow: only where DYNAMIC_IMPORTS says why
        ("edition/state.py", "import importlib\nrender = importlib.import_module('syndicate.edition.render')\n", "import by name"),
        ("text/plaintext.py", "if True:\n    from ..delivery import ledger\n", "text may not import delivery"),
        ("stray.py", '"""A module that belongs to no part."""\n', "belongs to no part"),
        # a lazy import may not hide a loop between two modules of one part
        ("content/slugs.py", "def f():\n    from . import sources  # lazy\n", "cycle between modules"),
    ],
)
def test_a_planted_violation_is_caught(tmp_path: Path, rel: str, code: str, expected: str) -> None:
    original = (PACKAGE / rel).read_text(encoding="utf-8") if (PACKAGE / rel).exists() else ""
    root = _plant(tmp_path, {rel: original + "\n" + code})
    sys.modules.pop("syndicate.stray", None)
    assert any(expected in v for v in violations(root)), violations(root)


def test_a_planted_cycle_is_caught(tmp_path: Path) -> None:
    allowed = {**ALLOWED, "content": ALLOWED["content"] | {"text"}}
    root = _plant(tmp_path, {"content/slugs.py": (PACKAGE / "content/slugs.py").read_text() + "\nfrom ..text import words\n"})
    assert part_cycles(root), "content -> text -> content is a cycle"
    assert any("cycle" in v for v in violations(root, allowed))


def test_a_commented_third_party_import_inside_a_function_is_allowed(tmp_path: Path) -> None:
    code = "def f():\n    # lazy: PyYAML only when YAML is read\n    import yaml\n"
    root = _plant(tmp_path, {"content/limits.py": (PACKAGE / "content/limits.py").read_text() + "\n" + code})
    assert violations(root) == []


def test_no_syndicate_module_is_imported_inside_a_function_but_the_listed_ones() -> None:
    local = {
        (i.module, i.target)
        for i in all_imports(PACKAGE)
        if i.local and i.target.startswith("syndicate")
    }
    assert local == set(LOCAL_IMPORTS), "LOCAL_IMPORTS lists exactly the exceptions in use"


def test_type_checking_imports_do_not_count(tmp_path: Path) -> None:
    code = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..publish.lock import run_lock\n"
    root = _plant(tmp_path, {"content/limits.py": (PACKAGE / "content/limits.py").read_text() + "\n" + code})
    assert not any("content/limits" in v or "content.limits" in v for v in violations(root))
