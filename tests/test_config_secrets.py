"""A password written into config.toml by mistake is refused without being repeated: error
messages end up in cron mail and logs."""

from __future__ import annotations

import pytest

from tests.conftest import Publication, Run

PASSWORD = "pa55 word!hunter2"


@pytest.mark.parametrize(
    "line",
    [f'password_env = "{PASSWORD}"', 'password_env = "2FAST"'],
)
def test_a_password_in_password_env_is_refused_without_echo(
    make_pub: Publication, run: Run, line: str
) -> None:
    root = make_pub(email=f'[email.smtp]\nusername = "news"\n{line}\n')

    result = run(root, "validate")

    assert result.exit_code == 1, result.output
    assert "email.smtp.password_env: expected the name of an environment variable" in (
        result.stderr
    )
    assert PASSWORD not in result.output and "2FAST" not in result.output


def test_an_environment_variable_name_is_fine(make_pub: Publication, run: Run) -> None:
    root = make_pub(email='[email.smtp]\nusername = "news"\npassword_env = "PAPER_SMTP_PW"\n')

    assert run(root, "validate").exit_code == 0
