"""Thumbs up / down under a finished answer: what may be rated, and what the tab is told.

Slack's AI-app pane puts feedback buttons under each final answer; the playground does the
same, so the figure `trickle_feedback_total` can be watched without Slack. A rating is
about an answer that exists in this channel and has ended, and counts once per person (a
tab's id, never a typed name): a second click is answered but not counted again, so one
keen clicker cannot skew the figures. Rating never touches the answer itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bots.playground.channel import KEEP_MESSAGES, Channel, Message

Status = Literal["counted", "already", "refused"]

VERDICTS = frozenset({"good", "bad"})
MAX_ANSWER_ID = 64
THANKS = "Thanks for the feedback"
ALREADY = "You already rated this answer; your first vote stands."
NO_VERDICT = "Feedback is either good (thumbs up) or bad (thumbs down); nothing was counted."
NO_ANSWER = "That answer is not in this channel; nothing was counted."
NOT_ENDED = "That answer is still being written: rate it once it has ended."
# Every answer still in the channel fits in this many (a channel keeps KEEP_MESSAGES).
KEEP_RATED = 2 * KEEP_MESSAGES


@dataclass(frozen=True, slots=True)
class Ruling:
    """What became of one click, and the text the clicking tab is shown about it."""

    status: Status
    answer_id: str | None
    verdict: str | None
    text: str

    @property
    def counted(self) -> bool:
        return self.status == "counted"

    def event(self) -> dict[str, Any]:
        """The `feedback` event for the tab that clicked (never broadcast: a vote is private)."""
        return {
            "type": "feedback",
            "answer_id": self.answer_id,
            "verdict": self.verdict,
            "status": self.status,
            "text": self.text,
        }


def ended(pages: list[Message]) -> bool:
    """Whether an answer is over: its last page is final and carries how it ended.

    The same test the page applies before it shows the buttons, so a button a person
    sees is never refused for being early.
    """
    if not pages:
        return False
    last = pages[-1]
    return last.final and bool((last.stats or {}).get("end"))


class Ratings:
    """Who rated which answer in one channel, so that each person counts once per answer.

    Votes of answers the channel has forgotten are dropped once there are more than
    `keep` rated answers, so a long-running playground does not grow without end.
    """

    __slots__ = ("_votes", "_keep")

    def __init__(self, *, keep: int = KEEP_RATED) -> None:
        self._votes: dict[str, dict[str, str]] = {}
        self._keep = keep

    def __repr__(self) -> str:
        return f"<Ratings answers={len(self._votes)}>"

    def by(self, person: str) -> dict[str, str]:
        """The answers `person` rated, with their verdicts (sent to a tab that reconnects)."""
        return {answer: votes[person] for answer, votes in self._votes.items() if person in votes}

    def judge(self, channel: Channel, person: str, answer_id: object, verdict: object) -> Ruling:
        """Check one click and record it if it counts; the caller counts and logs it."""
        echoed = answer_id if isinstance(answer_id, str) and len(answer_id) <= MAX_ANSWER_ID else None
        if not isinstance(verdict, str) or verdict not in VERDICTS:
            return Ruling("refused", echoed, None, NO_VERDICT)
        if not echoed:
            return Ruling("refused", echoed, None, NO_ANSWER)
        refusal = _not_rateable(channel, echoed)
        if refusal is not None:
            return Ruling("refused", echoed, None, refusal)
        votes = self._votes.setdefault(echoed, {})
        if person in votes:
            return Ruling("already", echoed, votes[person], ALREADY)
        votes[person] = verdict
        self._prune(channel)
        return Ruling("counted", echoed, verdict, THANKS)

    def _prune(self, channel: Channel) -> None:
        if len(self._votes) > self._keep:
            self._votes = {a: v for a, v in self._votes.items() if channel.answer(a)}


def _not_rateable(channel: Channel, answer_id: str) -> str | None:
    """Why this answer cannot be rated (unknown here, or not over yet), or None."""
    pages = channel.answer(answer_id)
    if not pages:
        return NO_ANSWER
    if not ended(pages):
        return NOT_ENDED
    return None
