"""The simulated surfaces: what the relay writes through, one per answer, onto the
simulated platforms (`benchmarks.floor.platforms`).

They draw on trickle's real budgets (`SlackBudgets`, `DiscordBudgets`) the way the real
surfaces do, so the relay's pacing is the one under test; only the network is simulated.
What they leave out, next to `bots/slack/surface.py`, `native.py` and
`bots/discord/surface.py`: every call takes no time (no network latency, so a write shows
what was emitted up to the instant it was granted); no thread status, Stop button or
streaming mark beyond Discord's size rule; no Slack escaping (the tokens need none);
discord.py's own waits inside a call are not modelled (the budget's, fed the headers the
trace config would see, are the only ones).
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.floor.platforms import DiscordPlatform, Message, Platform, SlackPlatform
from bots.discord.budgets import DiscordBudgets
from bots.slack.budgets import SlackBudgets
from core.pacing.budget import Budget


class KeptPages:
    """What every simulated surface shares: it keeps the pages it posted, in order, so a
    run can read the answer's final text and its staleness off the messages themselves;
    every new message is one platform call (`_create`), the opening carrying what the
    model wrote while it waited for the budget; it measures text in characters (the
    tokens are ASCII with nothing Slack escapes, so characters are Discord's UTF-16 units
    too); and nothing here makes an answer leave its message."""

    def __init__(self) -> None:
        self.pages: list[Message] = []

    def measure(self, text: str) -> int:
        return len(text)

    async def post_placeholder(self) -> Message:
        return self._keep(self._create("", False))

    async def post_opening(self, text: Callable[[], str]) -> Message:
        return self._keep(self._create(text(), False))

    async def post_page(self, text: str, *, final: bool) -> Message:
        return self._keep(self._create(text, final))

    def must_leave(self, ref: Message) -> bool:
        return False

    def _create(self, text: str, final: bool) -> Message:
        """The platform's call that makes a message in this surface's channel."""
        raise NotImplementedError

    def _keep(self, message: Message) -> Message:
        self.pages.append(message)
        return message


class SlackEditSurface(KeptPages):
    """A Slack thread in edit mode, like `bots/slack/surface.py`: posts on the channel's
    budget, `chat.update` on the workspace's; the first post carries what the model
    wrote while it waited for the post budget."""

    page_limit = 12_000

    def __init__(self, platform: SlackPlatform, budgets: SlackBudgets, *, team: str, channel: str) -> None:
        super().__init__()
        self.platform = platform
        self.budgets = budgets
        self.team = team
        self.channel = channel

    async def edit(self, ref: Message, text: str, *, final: bool) -> None:
        self.platform.update(ref, text, final)

    def post_budget(self) -> Budget | None:
        return self.budgets.posts(self.channel)

    def edit_budget(self, ref: Message) -> Budget | None:
        return self.budgets.updates(self.team)

    def answer_edit_budget(self) -> Budget | None:
        return self.budgets.updates(self.team)

    def _create(self, text: str, final: bool) -> Message:
        return self.platform.post(self.channel, text, final)


class SlackNativeSurface(SlackEditSurface):
    """A Slack thread streamed natively, like `bots/slack/native.py`: a stream opened with
    the text so far (on the post budget, when a start is free at once, else the answer is
    edited as in edit mode), appends of the new text, the final text's included, on the append budget,
    then the stop on its own budget (`EndsAfterFinal`); `chat.update` once a stream is
    stopped."""

    def __init__(self, platform: SlackPlatform, budgets: SlackBudgets, *, team: str, channel: str) -> None:
        super().__init__(platform, budgets, team=team, channel=channel)
        self._sent: dict[Message, int] = {}  # a live stream -> characters appended so far
        self._by_edits = False

    async def post_placeholder(self) -> Message:
        return await self._start("") or await super().post_placeholder()

    async def post_opening(self, text: Callable[[], str]) -> Message:
        return await self._start(text()) or await super().post_opening(text)

    async def post_page(self, text: str, *, final: bool) -> Message:
        started = None if final else await self._start(text)
        return started or await super().post_page(text, final=final)

    async def edit(self, ref: Message, text: str, *, final: bool) -> None:
        sent = self._sent.get(ref)
        if sent is None:
            return await super().edit(ref, text, final=final)
        new = text[sent:]
        if new:
            self.platform.append_stream(ref, new)
            self._sent[ref] = sent + len(new)

    def must_end(self, ref: Message) -> bool:
        return ref in self._sent

    def end_budget(self, ref: Message) -> Budget | None:
        return self.budgets.stream_stops(self.team)

    async def end(self, ref: Message) -> None:
        self.platform.stop_stream(ref, "")
        del self._sent[ref]

    def answer_edit_budget(self) -> Budget | None:
        return super().answer_edit_budget() if self._by_edits else None  # decided at the opening

    def edit_budget(self, ref: Message) -> Budget | None:
        if ref in self._sent:
            return self.budgets.appends(self.team)
        return super().edit_budget(ref)

    async def _start(self, text: str) -> Message | None:
        if self._by_edits or not await self.budgets.stream_starts(self.team).take_now():
            self._by_edits = True
            return None
        message = self.platform.start_stream(self.channel, text)
        self._sent[message] = len(text)
        return self._keep(message)


class DiscordChannelSurface(KeptPages):
    """A reply to a mention, like `bots/discord/surface.py` `ChannelSurface` (as of the
    change that lets the relay pace first messages): every create and edit draws on the
    channel's budget through the relay, which ranks a first message with the finals; the
    first message carries what the model wrote while it waited."""

    page_limit = 2000 - len(DiscordPlatform.INDICATOR)

    def __init__(self, platform: DiscordPlatform, budgets: DiscordBudgets, *, channel: str) -> None:
        super().__init__()
        self.platform = platform
        self.budgets = budgets
        self.channel = channel

    async def edit(self, ref: Message, text: str, *, final: bool) -> None:
        self.platform.edit(ref, text, final)

    def post_budget(self) -> Budget:
        return self.budgets.creates(self.channel)

    def edit_budget(self, ref: Message) -> Budget:
        return self.budgets.channel(self.channel)

    def answer_edit_budget(self) -> Budget | None:
        return self.budgets.channel(self.channel)

    def _create(self, text: str, final: bool) -> Message:
        return self.platform.create(self.channel, text, final)


Surface = SlackEditSurface | DiscordChannelSurface


def world(platform: str) -> tuple[Platform, Callable[[int], Surface]]:
    """The simulated platform and a factory of one answer's surface in channel number n.

    Built inside the running loop: budgets and buckets read its (virtual) clock. Discord
    channel ids are numbers, as `DiscordBudgets` reads them from the request path.
    """
    if platform == "discord-mentions":
        discord = DiscordBudgets()
        site = DiscordPlatform(discord)
        return site, lambda n: DiscordChannelSurface(site, discord, channel=str(1000 + n))
    slack = SlackBudgets()
    workspace = SlackPlatform()
    kind = {"slack-edit": SlackEditSurface, "slack-native": SlackNativeSurface}[platform]
    return workspace, lambda n: kind(workspace, slack, team="T1", channel=f"C{n}")
