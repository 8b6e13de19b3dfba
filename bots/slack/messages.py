"""What the bot's Slack messages carry: `text` and `blocks` for each state of an answer.

Pure functions, so the one rule that matters most is easy to check: every piece of model
text passes through `escape` before it reaches Slack, so no answer can ping `<!channel>`
or a person. The answer lives in a `markdown` block, which takes standard Markdown, so
the model's Markdown goes in as written (escaped); `text` is only the notification
fallback. While streaming the message also carries the Stop button; the final version
drops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bots.slack.formatting import escape, to_mrkdwn, to_plain_fallback

PLACEHOLDER = "_thinking…_"
INDICATOR = " ▌"
STOP_ACTION = "trickle_stop"
STOP_BLOCK = "trickle_controls"
FEEDBACK_ACTION = "trickle_feedback"
FEEDBACK_BLOCK = "trickle_feedback"
_EMPTY = "…"  # Slack refuses an empty block or text; never reached by a real answer

Block = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Payload:
    """The `text` and `blocks` arguments of one `chat.postMessage` / `chat.update`."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for slack_sdk's chat methods."""
        return {"text": self.text, "blocks": self.blocks} if self.blocks else {"text": self.text}


def stop_button(answer_id: str) -> Block:
    """The actions block with the Stop button; its value names the answer to stop."""
    return {
        "type": "actions",
        "block_id": STOP_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": STOP_ACTION,
                "text": {"type": "plain_text", "text": "Stop", "emoji": False},
                "value": answer_id,
                "style": "danger",
            }
        ],
    }


def placeholder(answer_id: str) -> Payload:
    """The message posted at once, before the model has written anything."""
    return Payload(PLACEHOLDER, [_markdown(PLACEHOLDER), stop_button(answer_id)])


def status(why: str, answer_id: str) -> Payload:
    """The placeholder saying why nothing is written yet (queued, waiting for the model)."""
    text = f"_{escape(why)}_"
    return Payload(text, [_markdown(text), stop_button(answer_id)])


def streaming(markdown: str, answer_id: str) -> Payload:
    """An answer still being written: the text so far, the indicator, the Stop button."""
    shown = escape(markdown) + INDICATOR
    return Payload(_fallback(markdown), [_markdown(shown), stop_button(answer_id)])


def final(markdown: str, *, feedback: str | None = None, plain_feedback: bool = False) -> Payload:
    """A finished page: exactly the text, no indicator, no Stop button; with `feedback`
    (an answer id) the thumbs up/down buttons below it, which leave the text alone
    (`plain_feedback`: ordinary buttons, for a workspace without Slack's AI blocks)."""
    blocks = [_markdown(escape(markdown) or _EMPTY)]
    if feedback is not None:
        blocks.append(feedback_row(feedback, plain=plain_feedback))
    return Payload(_fallback(markdown), blocks)


def feedback_row(answer_id: str, *, plain: bool = False) -> Block:
    """The feedback buttons under a final answer in the workspace's style: a final
    message carries them after its text, a native stream on its `chat.stopStream`."""
    return plain_feedback_buttons(answer_id) if plain else feedback_buttons(answer_id)


def feedback_buttons(answer_id: str) -> Block:
    """Slack's feedback buttons for AI answers; each value names the verdict and answer."""

    def button(label: str, verdict: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": label}, "value": f"{verdict}:{answer_id}"}

    return {
        "type": "context_actions",
        "block_id": FEEDBACK_BLOCK,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION,
                "positive_button": button("Good answer", "good"),
                "negative_button": button("Bad answer", "bad"),
            }
        ],
    }


def plain_feedback_buttons(answer_id: str) -> Block:
    """The same two choices as ordinary buttons (an `actions` block), whose action ids
    start with FEEDBACK_ACTION and whose values read as `feedback_buttons`' do."""

    def button(label: str, verdict: str) -> dict[str, Any]:
        return {
            "type": "button",
            "action_id": f"{FEEDBACK_ACTION}:{verdict}",
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "value": f"{verdict}:{answer_id}",
        }

    return {"type": "actions", "block_id": FEEDBACK_BLOCK, "elements": [button("👍", "good"), button("👎", "bad")]}


def parse_feedback(value: str) -> tuple[str, str] | None:
    """(verdict, answer id) from a feedback button's value, or None if it is not one."""
    verdict, _, answer_id = value.partition(":")
    return (verdict, answer_id) if verdict in ("good", "bad") and answer_id else None


def plain(markdown: str) -> Payload:
    """A short text-only message (a usage hint, a notice) as escaped mrkdwn."""
    return Payload(to_mrkdwn(markdown) or _EMPTY)


def is_in_progress(message: dict[str, Any]) -> bool:
    """Whether a message (as `conversations.replies` returns it) is a live answer."""
    for block in message.get("blocks") or ():
        if block.get("type") == "actions" and block.get("block_id") == STOP_BLOCK:
            return True
    return False


def _markdown(text: str) -> Block:
    return {"type": "markdown", "text": text}


def _fallback(markdown: str) -> str:
    return to_plain_fallback(markdown) or _EMPTY
