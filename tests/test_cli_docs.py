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
