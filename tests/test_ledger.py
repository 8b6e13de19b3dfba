"""The page ledger: what each message of an answer shows, as the platform accepted it."""

from __future__ import annotations

from core.relay.ledger import OpenPage, PageLedger


def test_an_empty_ledger_has_no_first_message_and_no_open_pages() -> None:
    ledger: PageLedger[str] = PageLedger()
    assert len(ledger) == 0 and ledger.first is None
    assert ledger.open_pages() == []
    assert not ledger.shows(0, "", final=False)


def test_a_page_shows_exactly_what_was_last_written_and_whether_it_was_final() -> None:
    ledger: PageLedger[str] = PageLedger()
    assert ledger.posted("m1", "", final=False) == 0
    assert ledger.first == "m1" and ledger.ref(0) == "m1"
    assert ledger.shows(0, "", final=False)
    ledger.wrote(0, "Hello", final=False)
    assert ledger.shows(0, "Hello", final=False)
    assert not ledger.shows(0, "Hello", final=True)  # the same text, not yet written as final
    assert not ledger.shows(0, "Hell", final=False)
    assert not ledger.shows(1, "Hello", final=False)  # no second message yet


def test_open_pages_are_those_not_written_as_final_and_the_last_is_marked() -> None:
    ledger: PageLedger[str] = PageLedger()
    ledger.posted("m1", "first page", final=True)
    ledger.posted("m2", "second page", final=False)
    ledger.posted("m3", "third", final=False)
    assert ledger.open_pages() == [OpenPage(1, "second page", False), OpenPage(2, "third", True)]
    ledger.wrote(2, "third, ended", final=True)
    assert ledger.open_pages() == [OpenPage(1, "second page", False)]
    assert ledger.ref(2) == "m3" and len(ledger) == 3


def test_its_repr_shows_how_many_pages_are_complete() -> None:
    ledger: PageLedger[int] = PageLedger()
    ledger.posted(7, "a", final=True)
    ledger.posted(8, "b", final=False)
    assert repr(ledger) == "<PageLedger pages=2 complete=1>"
