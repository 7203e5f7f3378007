"""config.toml: strict validation with messages that name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.config import load_config
from syndicate.errors import ConfigError

GOOD = """\
[publication]
title = "T"
base_url = "https://t.test/"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_documented_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.publication.base_url == "https://t.test"
    assert config.publication.feeds.url == "https://t.test/feeds"
    assert config.publication.feeds.max_items == 50
    assert config.model.email.transport == "file"
    assert config.feeds_dir == tmp_path / "feeds"
    assert config.state_db == tmp_path / "state" / "syndicate.db"


def test_unknown_key_names_key_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "\n[feeds]\nmax_itmes = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:6: feeds.max_itmes: unknown key" in str(caught.value)


def test_wrong_type_is_an_error_not_a_coercion(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '[email.smtp]\nport = "587"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:5: email.smtp.port: expected a valid integer" in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = '[publication]\ntitle = "T"\nbase_url = "ftp://x"\ntimezone = "Mars/Base"\n'
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 2
    assert any(":3: publication.base_url" in m for m in messages)
    assert any(":4: publication.timezone: unknown timezone 'Mars/Base'" in m for m in messages)


def test_missing_required_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"publication.title: required key is missing"):
        load_config(write(tmp_path, '[publication]\nbase_url = "https://t.test"\n'))


def test_toml_syntax_error_has_a_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config.toml:4: invalid TOML"):
        load_config(write(tmp_path, GOOD + "oops =\n"))


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"syndicate init"):
        load_config(tmp_path / "nope.toml")
