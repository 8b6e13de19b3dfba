"""What the relay needs from a chat platform, and nothing more.

Adapters in `bots/` satisfy these Protocols without inheriting from core classes (the
errbot lesson: a backend that *is* the bot cannot be reasoned about). Posting returns a
typed reference to the message, so editing never has to smuggle ids around.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from core.pacing.budget import Budget

Ref = TypeVar("Ref")
# The capability Protocols below only hand a reference out, or only take one in.
Ref_co = TypeVar("Ref_co", covariant=True)
Ref_contra = TypeVar("Ref_contra", contravariant=True)


class RateLimited(Exception):
    """The platform answered 429: the call was not applied; retry after `retry_after` s."""

    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(f"{message} (retry after {retry_after:.3g}s)")
        self.retry_after = retry_after


class SurfaceError(Exception):
    """The platform refused a call for a reason waiting will not fix.

    `code` is the platform's own error name (`msg_too_long`, `not_in_channel`, `10062`...)
    so logs and metrics can say which. `transient` marks a server-side failure (a 5xx)
    that a few retries may get past.
    """

    def __init__(self, code: str, message: str = "", *, transient: bool = False) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.transient = transient


@runtime_checkable
class Surface(Protocol[Ref]):
    """One conversation place on a platform (a Slack thread, a Discord interaction...).

    `page_limit` is the most a message may hold, in the units of `measure` (the length
    of the text once the surface renders it). Text handed to `post_page` and `edit` is
    the model's Markdown; rendering, escaping and mention safety are the surface's job.
    """

    page_limit: int

    def measure(self, text: str) -> int:
        """Length of `text` once rendered for this platform."""
        ...

    async def post_placeholder(self) -> Ref:
        """Show that an answer is coming (e.g. `…`) and return its message."""
        ...

    async def post_page(self, text: str, *, final: bool) -> Ref:
        """Post a continuation message holding `text`."""
        ...

    async def edit(self, ref: Ref, text: str, *, final: bool) -> None:
        """Replace the message's text; `final` drops indicators and buttons for good."""
        ...

    def post_budget(self) -> Budget | None:
        """The shared budget new messages draw on, or None when posting is free."""
        ...

    def edit_budget(self, ref: Ref) -> Budget | None:
        """The shared budget an edit of `ref` draws on."""
        ...

    def must_leave(self, ref: Ref) -> bool:
        """True when `ref` can no longer be edited for long (e.g. an expiring token)."""
        ...


# -- what some surfaces can also do: the relay and the assistant check with isinstance --


@runtime_checkable
class OpensWithText(Protocol[Ref_co]):
    """A surface whose first post may wait for a budget: `post_opening` calls `text()`
    once the platform lets it post, and shows what the model wrote meanwhile (or the
    placeholder if nothing). The relay uses it instead of `post_placeholder`."""

    async def post_opening(self, text: Callable[[], str]) -> Ref_co: ...


@runtime_checkable
class EditsOnOneBudget(Protocol):
    """A surface whose edits all draw on one budget, known before anything is posted (a
    Slack workspace's `chat.update`, a Discord channel's edits): the relay counts its
    answer on it from the start, so the budget's planner reserves for its final even
    while its first post still waits on another budget."""

    def answer_edit_budget(self) -> Budget | None: ...


@runtime_checkable
class EndsAfterFinal(Protocol[Ref_contra]):
    """A surface whose message still needs one call once its final text is shown (a
    Slack stream's `chat.stopStream`), on a budget of its own and showing nothing new:
    the relay makes it once the page is final (a page left behind while the answer goes
    on, at once; the others after the final), so no word waits on it. The answer itself
    ends once it is made."""

    def must_end(self, ref: Ref_contra) -> bool: ...

    def end_budget(self, ref: Ref_contra) -> Budget | None: ...

    async def end(self, ref: Ref_contra) -> None: ...


@runtime_checkable
class ShowsStatus(Protocol[Ref_contra]):
    """A surface that can say in the placeholder why nothing is written yet.

    `show_status` is one plain write (the relay paces it on `edit_budget(ref)`, ranked
    below the answer's own text); it returns False, writing nothing, once the answer's
    text is on its way, and never raises for a refusal: a status is decoration.
    """

    async def show_status(self, ref: Ref_contra, status: str) -> bool: ...


@runtime_checkable
class Locatable(Protocol[Ref_contra]):
    """A surface that can say where a message is, so that another process can finish an
    answer a crash left open (the in-flight registry)."""

    platform: str

    def locate(self, ref: Ref_contra) -> dict[str, Any]: ...


@runtime_checkable
class LocatableBeforePost(Protocol):
    """A surface that knows where an answer will go before any message exists."""

    def pending_location(self) -> dict[str, Any]: ...
