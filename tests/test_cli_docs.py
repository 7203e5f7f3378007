"""Docs guard: every CLI command explains itself in --help, and the README documents each one.

A command added without help text, or without a README section under "## Commands", fails
here rather than surprising an operator who reads `syndicate --help` or the README.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest

from syndicate.cli import cli
from tests.conftest import REPO

# The contract's commands (DESIGN.md): the walk below must at least find these.
CONTRACT = {"init", "validate", "build", "digest", "email", "import", "subscribers", "publish"}


def walk(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    """Every command and subcommand below ``group``, as ("subscribers add", command)."""
    for name, command in sorted(group.commands.items()):
        yield " ".join((*path, name)), command
        if isinstance(command, click.Group):
            yield from walk(command, (*path, name))


COMMANDS = dict(walk(cli))


def command_headings() -> list[str]:
    """The ``###`` headings of the README's "## Commands" part."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Commands\n")
    end = readme.index("\n## ", start + 1)
    return [line for line in readme[start:end].splitlines() if line.startswith("### ")]


def test_the_walk_finds_every_contract_command_and_the_subcommands() -> None:
    assert CONTRACT <= set(COMMANDS), CONTRACT - set(COMMANDS)
    assert {"subscribers add", "bounces process", "dkim keygen"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_text(name: str) -> None:
    command = COMMANDS[name]
    assert command.help and command.help.strip(), f"`syndicate {name}` has no help text"
    assert command.get_short_help_str().strip(), f"`syndicate {name}` has no short help"


def test_the_root_group_has_help_text() -> None:
    assert cli.help and cli.help.strip()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help_text(name: str) -> None:
    missing = [
        "/".join(param.opts)
        for param in COMMANDS[name].params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert not missing, f"`syndicate {name}`: options without help: {missing}"


@pytest.mark.parametrize("name", sorted(name for name in COMMANDS if " " not in name))
def test_every_top_level_command_has_a_readme_section(name: str) -> None:
    pattern = re.compile(rf"\bsyndicate {re.escape(name)}\b")
    headings = [h for h in command_headings() if pattern.search(h)]
    assert headings, f"README.md '## Commands' has no '### `syndicate {name} ...`' section"


@pytest.mark.parametrize("name", sorted(name for name in COMMANDS if " " in name))
def test_every_subcommand_is_named_in_its_groups_readme_heading(name: str) -> None:
    group, sub = name.rsplit(" ", 1)
    headings = [h for h in command_headings() if f"syndicate {group}" in h]
    assert any(re.search(rf"[\s|`]{re.escape(sub)}[\s|`]", h) for h in headings), (
        f"README.md: no heading for `syndicate {group}` names its subcommand {sub!r}"
    )


def test_the_help_summaries_are_the_commands_own() -> None:
    """`syndicate --help` lists the summaries in ``COMMANDS`` without importing a command's
    module: each must be the first paragraph of that command's help, and every top-level
    command of the ``syndicate.cli`` modules must be in the table (or it could not run)."""
    import importlib
    import inspect
    import pkgutil

    import syndicate.cli
    from syndicate.cli.group import COMMANDS

    defined: dict[int, click.Command] = {}
    nested: set[int] = set()
    for info in pkgutil.iter_modules(syndicate.cli.__path__):
        module = importlib.import_module(f"syndicate.cli.{info.name}")
        for value in vars(module).values():
            if isinstance(value, click.Command) and value is not cli:
                defined[id(value)] = value
                if isinstance(value, click.Group):
                    nested.update(id(c) for c in value.commands.values())
    top = {command.name for key, command in defined.items() if key not in nested}
    assert top == set(COMMANDS)
    for name, lazy in COMMANDS.items():
        command = cli.commands[name]
        first = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert " ".join(first.split()) == " ".join(lazy.summary.split()), name


def test_help_imports_no_command_module() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from syndicate.cli import cli\n"
        "try:\n"
        "    cli(['--help'], obj={})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('syndicate')), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "bounces" in done.stdout and "validate" in done.stdout
    assert (
        done.stderr.strip()
        == "['syndicate', 'syndicate.cli', 'syndicate.cli.group', 'syndicate.errors']"
    )
