"""The fast per-recipient splice gives what build_message gives, for any recipient."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate.config import Config
from syndicate.delivery.message import Recipient, build_message, message_bytes
from syndicate.delivery.personalize import Personalizer, _double_dots, _payload, _shape
from syndicate.delivery.rendered import RenderedEdition
from syndicate.delivery.settings import MessageSettings
from syndicate.delivery.transports import WireMessage
from syndicate.delivery.transports.smtp import wire_format
from syndicate.edition.render import render_edition
from syndicate.edition.state import open_state, plan_edition
from syndicate.errors import DeliveryError
from tests.conftest import Publication, article
from tests.sending import NOW, config_of

DATE = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
FAST: dict[int, Personalizer] = {}  # one per rendered edition: preparing costs ~50 ms


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, RenderedEdition]:
    from tests.conftest import BASE_CONFIG

    root = tmp_path_factory.mktemp("pub")
    (root / "content").mkdir()
    (root / "config.toml").write_text(
        BASE_CONFIG.format(feeds="", email="", extra=""), encoding="utf-8"
    )
    body = "Ünïcode, = signs, dots\n\n.leading dot line\n\n" + "Long paragraph. " * 60
    for n in range(3):
        (root / "content" / f"a{n}.md").write_text(
            article(f"Story {n} — “quoted”", date=f"2026-11-1{n}T09:00:00+01:00", body=body),
            encoding="utf-8",
        )
    config = config_of(root)
    conn = open_state(config)
    planned = plan_edition(config, conn, now=datetime.fromisoformat(NOW))
    assert planned is not None
    return config, render_edition(config, planned)


def recipient(email: str, name: str, token: str = "abc.def") -> Recipient:
    return Recipient(
        email=email,
        name=name,
        unsubscribe_url=f"https://news.test/unsubscribe?token={token}",
        view_url="https://news.test/feeds/newsletter/2026-11-20/",
        message_id="<2026-11-20.abcdef@news.test>",
    )


def same(config: Config, rendered: RenderedEdition, person: Recipient) -> None:
    from email import policy
    from email.parser import BytesParser

    fast = FAST.get(id(rendered))
    if fast is None:
        fast = FAST[id(rendered)] = Personalizer(
            MessageSettings.from_config(config), rendered, date=DATE
        )
    assert fast.fast
    raw = fast(person)
    parse = BytesParser(policy=policy.default).parsebytes
    slow = message_bytes(
        build_message(MessageSettings.from_config(config), rendered, person, date=DATE)
    )
    assert _shape(parse(raw)) == _shape(parse(slow))
    assert not re.search(rb"(?<!\r)\n", raw), "bare LF"
    assert isinstance(raw, WireMessage) and raw.payload == wire_format(raw)
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_fast_equals_build_message_for_typical_recipients(
    edition: tuple[Config, RenderedEdition],
) -> None:
    config, rendered = edition
    for person in (
        recipient("ann@example.com", "Ann"),
        recipient("bob.smith@example.com", ""),
        recipient("x@example.com", 'Zoë "Z" O\'Brien, Jr. <the third>'),
        recipient("y@bücher.example", "Jürgen"),
        recipient("z@example.com", "A" * 120, token="t" * 200),
    ):
        same(config, rendered, person)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=60).map(
        lambda s: " ".join(s.split())
    ),
    local=st.from_regex(r"[a-z0-9][a-z0-9.+_-]{0,20}[a-z0-9]", fullmatch=True).filter(
        lambda s: ".." not in s
    ),
)
def test_fast_equals_build_message_for_any_name(
    edition: tuple[Config, RenderedEdition], name: str, local: str
) -> None:
    config, rendered = edition
    same(config, rendered, recipient(f"{local}@example.com", name))


def test_header_injection_is_refused(edition: tuple[Config, RenderedEdition]) -> None:
    config, rendered = edition
    fast = Personalizer(MessageSettings.from_config(config), rendered, date=DATE)
    with pytest.raises(DeliveryError, match="line break"):
        fast(recipient("a@example.com", "Evil\r\nBcc: everyone@example.com"))


def test_copies_are_spliced_without_building_a_message_per_copy(
    edition: tuple[Config, RenderedEdition], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The speed of a copy is bench/bench_senders.py's to measure; what makes it fast is that
    # after the one check at start, no copy goes through the email package's MIME assembly.
    from syndicate.delivery import personalize

    config, rendered = edition
    fast = Personalizer(MessageSettings.from_config(config), rendered, date=DATE)
    built: list[Recipient] = []

    def counted(
        settings: MessageSettings, edition: RenderedEdition, person: Recipient, **kw: datetime
    ) -> EmailMessage:
        built.append(person)
        return build_message(settings, edition, person, **kw)

    monkeypatch.setattr(personalize, "build_message", counted)
    copies = {fast(recipient(f"reader{n}@example.com", f"Reader {n}")) for n in range(200)}
    assert fast.fast and not built
    fast._build(recipient("slow@example.com", "Slow"), {})  # the reference path: it is counted
    assert len(built) == 1
    assert len(copies) == 200 and all(isinstance(c, WireMessage) for c in copies)


def test_a_single_use_publication_gets_the_fast_path(make_pub: Publication) -> None:
    from tests.sending import ARTICLES

    config = config_of(make_pub(ARTICLES))
    conn = open_state(config)
    planned = plan_edition(config, conn, now=datetime.fromisoformat(NOW))
    assert planned is not None
    assert Personalizer(
        MessageSettings.from_config(config), render_edition(config, planned), date=DATE
    ).fast


# Parts as the splice makes them: CRLF line ends only, dots anywhere, a line cut at any place.
PART = st.lists(st.sampled_from([b"a", b".", b"..", b"\r\n", b"=\r\n", b" "]), max_size=6).map(
    b"".join
)


@given(st.lists(PART, max_size=8), st.data())
def test_the_payload_spliced_from_parts_is_what_wire_format_makes_of_the_whole(
    parts: list[bytes], data: st.DataObject
) -> None:
    # Some parts are "constants" whose dots were doubled once beforehand, the rest per copy.
    constants = data.draw(st.sets(st.sampled_from(parts))) if parts else set()
    stuffed = {part: _double_dots(part) for part in constants}
    assert _payload(parts, stuffed) == wire_format(b"".join(parts))


def test_a_part_ending_in_a_carriage_return_leaves_the_payload_to_wire_format() -> None:
    assert _payload([b"a\r", b"\n.b"], {}) is None
