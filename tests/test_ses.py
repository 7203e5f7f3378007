"""The ses transport against moto's server mode on 127.0.0.1 (a real HTTP API, not a stub)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest

from syndicate.delivery.ledger import RowState
from tests.conftest import Publication, Run
from tests.sending import ARTICLES, NOW, SECRET, add_many, assert_personal_token, ledger_rows
from tests.smtp_server import free_port

pytest.importorskip("boto3")
pytest.importorskip("moto")

SENDER = "news@news.test"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    """``moto_server`` on a free loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws(moto: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Dummy credentials, no host AWS config, and a freshly reset moto."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "SYNDICATE_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    reset = urllib.request.Request(f"{moto}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    return moto


def ses_pub(make_pub: Publication, endpoint: str) -> Path:
    return make_pub(
        ARTICLES,
        email=(
            'transport = "ses"\n'
            "[email.ses]\n"
            f'region = "eu-west-1"\nendpoint_url = "{endpoint}"\nconnections = 4\ntimeout = 10\n'
        ),
    )


def verify_sender(endpoint: str) -> None:
    import boto3

    client = boto3.client("ses", region_name="eu-west-1", endpoint_url=endpoint)
    client.verify_email_identity(EmailAddress=SENDER)


def raw_messages(endpoint: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    return list(data["ses"]["RawMessage"])


def test_ses_delivers_an_edition_to_50_subscribers(
    make_pub: Publication, run: Run, aws: str
) -> None:
    verify_sender(aws)
    root = ses_pub(make_pub, aws)
    emails = add_many(root, 50)

    result = run(root, "email", "--send", "--yes", "--now", NOW)

    assert result.exit_code == 0, result.output
    assert "via ses: sent 50, deferred 0, failed 0" in result.stdout
    messages = raw_messages(aws)
    assert len(messages) == 50
    by_recipient = {}
    for message in messages:
        assert message["source"] == SENDER
        # moto lists the Destination and the To header (with its display name)
        recipients = {addr for _, addr in getaddresses(message["destinations"])}
        assert len(recipients) == 1
        by_recipient[recipients.pop()] = message
    assert sorted(by_recipient) == emails
    for email, message in by_recipient.items():
        assert_personal_token(message["raw_data"].encode("utf-8"), email)
    rows = ledger_rows(root)
    assert {row.state for row in rows} == {RowState.SENT}
    assert {row.provider_id for row in rows} == {m["id"] for m in messages}

    again = run(root, "email", "--send", "--yes", "--now", NOW)
    assert again.exit_code == 0 and "nothing to send" in again.stdout
    assert len(raw_messages(aws)) == 50


def test_ses_unverified_sender_stops_the_run_and_fails_nobody(
    make_pub: Publication, run: Run, aws: str
) -> None:
    root = ses_pub(make_pub, aws)
    add_many(root, 5)
    result = run(root, "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 3, result.output
    assert "stopped: SES MessageRejected" in result.stderr
    assert "verify the sender identity" in result.stderr
    assert {row.state for row in ledger_rows(root)} == {RowState.QUEUED}
    assert raw_messages(aws) == []

    verify_sender(aws)
    result = run(root, "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert len(raw_messages(aws)) == 5
