"""An edition's archive page goes online with its first copies, not only once every last
recipient is handled: greylisted (deferred) or uncertain recipients can keep an edition
``sending`` for hours, while everyone else already holds its view-in-browser link."""

from __future__ import annotations

import pytest

from syndicate.delivery.ledger import RowState
from tests.conftest import Publication, Run
from tests.sending import NOW, SECRET, add_many, ledger_rows, smtp_pub
from tests.smtp_server import Faults, SmtpSink, free_port


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def test_the_page_is_online_while_a_recipient_is_still_deferred(
    make_pub: Publication, run: Run
) -> None:
    with SmtpSink(Faults(tempfail_every_rcpt=3)) as sink:
        root = smtp_pub(make_pub, sink.port, connections=1, retries=0)
        add_many(root, 3)

        first = run(root, "email", "--send", "--yes", "--now", NOW)

        assert first.exit_code == 3, first.output  # the third reader was greylisted
        assert [r.state for r in ledger_rows(root)].count(RowState.DEFERRED) == 1
        [edition] = {r.edition for r in ledger_rows(root)}
        archive = root / "feeds" / "newsletter"
        page = archive / edition / "index.html"
        assert page.is_file(), "the two readers who have the email need its page"
        assert f'href="{edition}/"' in (archive / "index.html").read_text()
        assert edition in (archive / "rss.xml").read_text()
        before = page.read_bytes()

        second = run(root, "email", "--send", "--yes", "--now", NOW)

        assert second.exit_code == 0, second.output
        assert len(sink.messages) == 3
        assert page.read_bytes() == before  # the page stored with the first copies stays
        assert run(root, "build").exit_code == 0
        assert page.read_bytes() == before


def test_no_copy_out_no_page(make_pub: Publication, run: Run) -> None:
    root = smtp_pub(make_pub, free_port(), connections=1, retries=0, max_errors=2)
    add_many(root, 2)

    result = run(root, "email", "--send", "--yes", "--now", NOW)  # nothing listens there

    assert result.exit_code == 3, result.output
    assert not (root / "feeds" / "newsletter").exists()
