"""TRICKLE_REDACT: personal data out of what the model is sent, and nothing else touched."""

from __future__ import annotations

import logging
import time
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bots.settings import Settings
from core.assistant import Assistant
from core.models import ChatMessage
from core.privacy.redaction import KINDS, Redactor, parse_redact
from core.question import Asker, Question
from core.settings import SettingsError
from tests.fakes.model import ScriptedSource
from tests.fakes.surface import FakeSurface

EVERYTHING = Redactor(KINDS)
ADA = Asker("U1", "Ada")

# Published test numbers of the card networks: each passes the Luhn check.
CARDS = [
    "4111111111111111",  # Visa
    "4222222222222",  # Visa, 13 digits
    "4000000000000000006",  # 19 digits
    "5555555555554444",  # Mastercard
    "2223003122003222",  # Mastercard, 2-series
    "378282246310005",  # Amex, 15 digits
    "6011111111111117",  # Discover
    "30569309025904",  # Diners, 14 digits
    "3530111333300000",  # JCB
]


def _off_by_one(number: str) -> str:
    """The same number with its check digit wrong, so it fails Luhn."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        # e-mail
        ("write to ada@example.com today", "write to [email] today"),
        ("ada.lovelace+invoices@mail.example.co.uk", "[email]"),
        ("First.Last-2@Sub.Domain.EXAMPLE.org.", "[email]."),
        ("(bob_99@example.io)", "([email])"),
        ("<mailto:ada@example.com|ada@example.com>", "<mailto:[email]|[email]>"),  # Slack's link
        ("a@b.co,c@d.dev", "[email],[email]"),
        # card, written every way people write one
        ("card 4111 1111 1111 1111, exp 12/27", "card [card], exp 12/27"),
        ("4111-1111-1111-1111", "[card]"),
        ("pay with 5555555555554444.", "pay with [card]."),
        ("amex 3782 822463 10005", "amex [card]"),
        ("4000 0000 0000 0000 006", "[card]"),
        ("4111 1111 1111 1111 2026", "[card] 2026"),  # a year after it is not part of it
        # phone
        ("call +44 20 7946 0958", "call [phone]"),
        ("+1 (555) 123-4567", "[phone]"),
        ("+44 (0)20 7946 0958", "[phone]"),
        ("+33 6 12 34 56 78", "[phone]"),
        ("+4915112345678", "[phone]"),
        ("+1-555-123-4567 or +1.555.123.4567", "[phone] or [phone]"),
        ("(555) 123-4567", "[phone]"),
        ("555-123-4567", "[phone]"),
        ("555.123.4567", "[phone]"),
        ("1-555-123-4567", "[phone]"),
        ("020 7946 0958", "[phone]"),
        ("06 12 34 56 78", "[phone]"),
        ("<tel:+15551234567|call me>", "<tel:[phone]|call me>"),
        # iban
        ("IBAN GB82 WEST 1234 5698 7654 32.", "IBAN [iban]."),
        ("GB82WEST12345698765432", "[iban]"),
        ("DE89 3704 0044 0532 0130 00", "[iban]"),
        # ipv4
        ("ssh 10.20.30.40 then 192.168.1.1.", "ssh [ipv4] then [ipv4]."),
        ("from 8.8.8.8:53", "from [ipv4]:53"),
        # several kinds, run into each other
        ("+44 20 7946 0958-10.0.0.1", "[phone]-[ipv4]"),
        ("ada@example.com 4111111111111111 555-123-4567", "[email] [card] [phone]"),
    ],
)
def test_personal_data_is_replaced_by_its_kind(text: str, sent: str):
    assert EVERYTHING.redact(text) == sent


@pytest.mark.parametrize("card", CARDS)
def test_a_card_passing_luhn_goes_and_the_same_number_failing_it_stays(card: str):
    assert EVERYTHING.redact(f"number {card} here") == "number [card] here"
    wrong = _off_by_one(card)
    assert EVERYTHING.redact(f"number {wrong} here") == f"number {wrong} here"


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails Luhn
        "5555-5555-5555-4445",  # fails Luhn
        "1700000000000",  # a millisecond timestamp (starts with 1, as cards do not)
        "1183071234567890126",  # a Discord id, bare
        "41 11 11 11 11 11 11 11",  # digits, but not grouped as cards are printed
        "GB82 WEST 1234 5698 7654 33",  # fails mod 97
        "gb82 west 1234 5698 7654 32",  # lower case is not how an IBAN is written
        "2026-12-03",
        "03.12.2026 and 01-02-2026 and 12/03/2026",
        "10:15:30 and 23:59",
        "2026-12-03T10:15:30.123456+01:00",
        "2026-12-03T10:15:30Z",
        "version 1.2.3, 10.0.19041.1, v1.2.3.4",
        "Slack ts 1700000000.000123",
        "123e4567-e89b-12d3-a456-426614174000",
        "commit 3f2c1a9d8e7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d and 4111111111111111abc",
        "order 12345678, ORD-2026-000123, #4111111111111111",
        "pi is 3.14159265358979323846",
        "offset +05:30, 2+3=5, x = +1234",
        "icon@2x.png and lodash@4.17.21 and @types/node",
        "127.0.0.1 and 0.0.0.0 and 256.1.1.1",
        "https://discord.com/channels/4111111111111111/5555555555554444",
        "",
    ],
)
def test_what_only_looks_like_personal_data_is_left_alone(text: str):
    assert EVERYTHING.redact(text) == text


@pytest.mark.parametrize(
    "mention",
    [
        "<@U024BE7LH>",
        "<@U024BE7LH|ada>",
        "<#C024BE7LR|general>",
        "<!here>",
        "<!subteam^S0614TZR7|@team>",
        "<@4111111111111111>",  # a Discord id that happens to pass the card check
        "<@!4111111111111111>",
        "<@&5555555555554444>",
        "<#6011111111111117>",
        "</ask:4111111111111111>",
        "<:wave:4111111111111111>",
        "<a:dance:5555555555554444>",
        "<t:1700000000:R>",
    ],
)
def test_mentions_are_never_touched(mention: str):
    text = f"{mention} card 4111111111111111"
    assert EVERYTHING.redact(text) == f"{mention} card [card]"


def test_the_digits_of_a_mention_alone_would_be_taken_for_a_card():
    # What the mention rule above protects: outside a mention the same digits go.
    assert EVERYTHING.redact("id 4111111111111111") == "id [card]"


def test_code_blocks_and_inline_code_are_redacted_like_prose_and_keep_their_markdown():
    text = (
        "see `ada@example.com` and:\n"
        "```csv\n"
        "name,email,phone,card\n"
        "Ada,ada@example.com,+44 20 7946 0958,4111 1111 1111 1111\n"
        "```\n"
        "    indented: bob@example.com\n"
    )
    assert EVERYTHING.redact(text) == (
        "see `[email]` and:\n```csv\nname,email,phone,card\nAda,[email],[phone],[card]\n```\n    indented: [email]\n"
    )


def test_with_no_kinds_nothing_changes():
    text = "ada@example.com +44 20 7946 0958 4111111111111111 GB82WEST12345698765432 10.0.0.1"
    assert Redactor().redact(text) == text
    assert not Redactor().enabled and EVERYTHING.enabled


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_redacts_only_itself(kind: str):
    samples = {
        "email": "ada@example.com",
        "phone": "+44 20 7946 0958",
        "card": "4111 1111 1111 1111",
        "iban": "GB82 WEST 1234 5698 7654 32",
        "ipv4": "10.0.0.1",
    }
    text = " | ".join(samples.values())
    assert Redactor((kind,)).redact(text) == text.replace(samples[kind], f"[{kind}]")


def test_counts_say_how_many_of_each_kind_went():
    text, counts = EVERYTHING.redact_counting("a@b.co c@d.co 4111111111111111 <@U1> a@b.co")
    assert text == "[email] [email] [card] <@U1> [email]"
    assert counts == {"email": 3, "card": 1}
    assert Redactor().redact_counting("a@b.co")[1] == {}


CORPUS = [
    "call +44 20 7946 0958-10.0.0.1 or 555-123-4567",
    "+44 20 7946 0958+44 20 7946 0958",
    "4111 1111 1111 1111-10.0.0.1",
    "<mailto:a@b.co|a@b.co> <@4111111111111111> 4111111111111111",
    "a@b.com@c.org and 06 12 34 56 78 90 12",
]


@pytest.mark.parametrize("text", CORPUS)
def test_redacting_twice_is_redacting_once(text: str):
    once = EVERYTHING.redact(text)
    assert EVERYTHING.redact(once) == once


_PIECES = st.sampled_from(
    [
        "4111 1111 1111 1111",
        "4111111111111111",
        "+44 20 7946 0958",
        "555-123-4567",
        "(555) 123-4567",
        "a@b.com",
        "GB82 WEST 1234 5698 7654 32",
        "10.0.0.1",
        "020 7946 0958",
        "<@U1>",
        "<mailto:a@b.com|a@b.com>",
        "1",
        "0",
        "5",
        "-",
        ".",
        " ",
        "@",
        "+",
        "(",
        ")",
        "[",
        "]",
        "<",
        ">",
        "|",
        ":",
        "x",
        "GB",
        "`",
        "\n",
        "#",
        "/",
    ]
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=10).map("".join))
def test_redacting_twice_is_redacting_once_whatever_is_pasted_together(text: str):
    once = EVERYTHING.redact(text)
    assert EVERYTHING.redact(once) == once


@pytest.mark.parametrize(
    "text",
    [
        ("+" + "1" * 100 + " ") * 20,  # took 8 s when phone groups could split a run of digits
        "+1" + " 1" * 10_000,
        "a" * 50_000 + "@",
        "1." * 20_000,
        "<@" * 20_000,
        "0" + " 12" * 10_000,
    ],
)
def test_a_long_hostile_paste_is_redacted_in_linear_time(text: str):
    started = time.perf_counter()
    EVERYTHING.redact(text)
    assert time.perf_counter() - started < 1.0


# --- the setting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kinds"),
    [
        ("", ()),
        (" , ", ()),
        ("email", ("email",)),
        ("Card, EMAIL ,phone,,email", ("email", "phone", "card")),  # fixed order, once each
        ("ipv4,iban", ("iban", "ipv4")),
    ],
)
def test_parse_redact_reads_a_list_of_kinds(value: str, kinds: tuple[str, ...]):
    assert parse_redact(value) == kinds


def test_parse_redact_names_every_unknown_kind_and_what_is_accepted():
    with pytest.raises(ValueError, match="'fax', 'ssn'") as refused:
        parse_redact("email,fax,ssn")
    assert all(kind in str(refused.value) for kind in KINDS)


def test_a_redactor_refuses_a_kind_it_does_not_know():
    with pytest.raises(ValueError, match="fax"):
        Redactor(("email", "fax"))


def test_the_setting_is_off_unless_set():
    assert Settings.from_mapping({}).redact == ()
    assert Settings.from_mapping({"TRICKLE_REDACT": "phone,email"}).redact == ("email", "phone")


@pytest.mark.parametrize("value", ["fax", "email,phones", "all"])
def test_a_bad_redact_setting_stops_the_start_naming_it(value: str):
    with pytest.raises(SettingsError, match="TRICKLE_REDACT") as refused:
        Settings.from_mapping({"TRICKLE_REDACT": value})
    assert "email, phone, card" in str(refused.value)


# --- what the model is sent ------------------------------------------------------------


def _assistant(**env: str) -> tuple[Assistant, ScriptedSource]:
    source = ScriptedSource(["Done."])
    settings = Settings.from_mapping(
        {"TRICKLE_SYSTEM_PROMPT": "Escalate to support@example.com.", "TRICKLE_EDIT_INTERVAL": "0.05", **env}
    )
    return Assistant(source=source, settings=settings), source


HISTORY = [
    ChatMessage("user", "my card is 4111 1111 1111 1111", "Ada"),
    ChatMessage("assistant", "Noted, I will not repeat ada@example.com.\n\n_(stopped by Ada)_"),
]


def test_the_question_and_history_are_redacted_and_the_system_prompt_is_not():
    assistant, _ = _assistant(TRICKLE_REDACT="email,card,phone")
    messages = assistant.fit(Question("call me on +44 20 7946 0958", ADA, history=HISTORY)).messages
    assert [(m.role, m.content, m.name) for m in messages] == [
        ("system", "Escalate to support@example.com.", None),
        ("user", "my card is [card]", "Ada"),
        ("assistant", "Noted, I will not repeat [email].", None),  # its notice still goes
        ("user", "call me on [phone]", None),
    ]


def test_without_the_setting_the_model_is_sent_what_was_written():
    assistant, _ = _assistant()
    messages = assistant.fit(Question("call me on +44 20 7946 0958", ADA, history=HISTORY)).messages
    assert [m.content for m in messages[1:]] == [
        "my card is 4111 1111 1111 1111",
        "Noted, I will not repeat ada@example.com.",
        "call me on +44 20 7946 0958",
    ]


def test_history_that_is_not_text_is_passed_on_as_it_is():
    # Image parts are not sent yet (context.py counts text only), so the seam is tested alone.
    from core.conversation.prompt import PromptBuilder

    prompts = PromptBuilder(Settings.from_mapping({"TRICKLE_REDACT": "email"}))
    picture = ChatMessage("user", [{"type": "text", "text": "ada@example.com"}])  # type: ignore[arg-type]
    found: Counter[str] = Counter()
    assert prompts.sendable(picture, found) is picture and not found
    assert prompts.sendable(ChatMessage("user", "ada@example.com"), found).content == "[email]"
    assert found == {"email": 1}


async def test_an_answer_sends_the_model_redacted_text_and_logs_only_counts(caplog):
    assistant, source = _assistant(TRICKLE_REDACT="email,card")
    question = Question("is ada@example.com right?", ADA, history=HISTORY)
    with caplog.at_level(logging.INFO, logger="trickle.assistant"):
        await assistant.answer(FakeSurface(), question, answer_id="a1")
    sent = [m.content for m in source.requests[0]]
    assert sent[1:] == ["my card is [card]", "Noted, I will not repeat [email].", "is [email] right?"]
    logged = [r.getMessage() for r in caplog.records if getattr(r, "answer_id", None) == "a1"]
    assert logged == ["redacted before sending: 1 card, 2 email"]
    assert "ada@example.com" not in caplog.text and "4111" not in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!|jane@example.com +44 20 7946 0958>", "<!|[email] [phone]>"),
        ("<@U1|jane@example.com>", "<@U1|[email]>"),
        ("<#C024BE7LR|jane@example.com>", "<#C024BE7LR|[email]>"),
        (
            "ask <@U024BE7LH> or <@!80351110224678912> at jane@example.com",
            "ask <@U024BE7LH> or <@!80351110224678912> at [email]",
        ),
    ],
)
def test_only_a_mention_id_is_spared_never_what_looks_like_one(text, expected):
    # Something shaped like a mention must not carry personal data past redaction.
    assert Redactor(("email", "phone")).redact(text) == expected
