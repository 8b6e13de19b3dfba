"""Chaos: two `trickle slack` replicas on one Redis, with faults injected everywhere.

Real processes (Socket Mode, so Slack spreads events over both connections), a real
redis-server, the fake Slack and the fake model in this process. After every fault the
same promises are checked: every answer is final and exact or visibly marked, nobody is
answered twice, and no placeholder is left "thinking".
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_server import FakeOpenAI, Script, words
from tests.fakes.slack_server import FakeSlack, unescape, visible_text

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"]
PLACEHOLDER = "_thinking…_"


def answer_for(tag: str, count: int = 40) -> str:
    return f"{tag} " + " ".join(WORDS[i % len(WORDS)] for i in range(count)) + "."


class Replica:
    """One `trickle slack` process."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bots.cli",
            "slack",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()


class Cluster:
    """Fake Slack + fake model + Redis + N replicas, and the checks that matter."""

    def __init__(self, slack: FakeSlack, model: FakeOpenAI, redis) -> None:
        self.slack = slack
        self.model = model
        self.redis = redis
        self.redis_url = redis.url
        self.replicas: list[Replica] = []
        self.asked: dict[str, tuple[str, str]] = {}  # tag -> (channel, ts)

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "TRICKLE_"))}
        return {
            **base,
            "SLACK_API_URL": self.slack.api_url,
            "SLACK_BOT_TOKEN": "xoxb-chaos",
            "SLACK_APP_TOKEN": "xapp-chaos",
            "OPENAI_BASE_URL": self.model.base_url,
            "TRICKLE_REDIS_URL": self.redis_url,
            "TRICKLE_HTTP_PORT": "0",
            "TRICKLE_EDIT_INTERVAL": "0.3",
            "TRICKLE_IDLE_TIMEOUT": "1.5",
            "TRICKLE_HEARTBEAT_INTERVAL": "0.5",
            "TRICKLE_USER_RPM": "1000",
            "TRICKLE_LOG_LEVEL": "WARNING",
        }

    async def start(self, count: int = 2, **env: str) -> None:
        for n in range(count):
            replica = Replica(f"r{n}", {**self.env(), **env})
            await replica.start()
            self.replicas.append(replica)
        await self.slack.wait_connected(count, timeout=40)

    async def ask(self, tag: str, *, channel: str = "C1", user: str | None = None) -> dict:
        event = self.slack.mention_event(user or f"U{tag}", f"question {tag}", channel)
        self.asked[tag] = (channel, event["ts"])
        await self.slack.send_event(event)
        return event

    def replies(self, tag: str) -> list:
        channel, ts = self.asked[tag]
        return [m for m in self.slack.thread(channel, ts) if m.is_bot]

    def shown(self, tag: str) -> str:
        return "".join(unescape(visible_text(m)) for m in self.replies(tag))

    def settled(self, tag: str) -> bool:
        replies = self.replies(tag)
        return bool(replies) and not any(_in_progress(m) for m in replies)

    async def wait_settled(self, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if all(self.settled(tag) for tag in self.asked):
                return
            await asyncio.sleep(0.2)

    def check_promises(self, *, exact: set[str], marked: set[str] = frozenset()) -> None:
        """Exact answers for `exact`, a notice for `marked`; one answer each; none left."""
        for tag in self.asked:
            replies = self.replies(tag)
            assert replies, f"{tag}: no answer at all"
            assert not any(_in_progress(m) for m in replies), f"{tag}: left unfinished: {self.shown(tag)!r}"
            # An answer's first message opens with the placeholder, or with the answer's
            # first words when its post waited for the channel's budget; a second such
            # message would be a second answer.
            openings = [m for m in replies if m.history and _opens_answer(unescape(visible_text_at(m, 0)), tag)]
            assert len(openings) == 1, f"{tag}: answered {len(openings)} times"
            text = self.shown(tag)
            if tag in exact:
                assert text == answer_for(tag), f"{tag}: not exact: {text!r}"
            if tag in marked:
                assert text.rstrip().endswith(")_"), f"{tag}: no notice: {text!r}"
                assert answer_for(tag).startswith(_before_notice(text))


def _opens_answer(first_version: str, tag: str) -> bool:
    """Every answer starts with its question's tag; continuation pages do not."""
    shown = first_version.removesuffix("▌").rstrip()
    return shown == PLACEHOLDER or shown.split(" ", 1)[0] == tag


def _before_notice(text: str) -> str:
    """The answer text of a message that ends with a notice (empty if it is all notice)."""
    return "" if text.startswith("_(") else text.rsplit("\n\n_(", 1)[0]


def visible_text_at(message, index: int) -> str:
    version = message.history[index]
    return visible_text({"text": version[1], "blocks": version[2]})


def _in_progress(message) -> bool:
    shown = unescape(visible_text(message)).rstrip()
    return (
        shown.endswith("▌") or shown == PLACEHOLDER or any(b.get("type") == "actions" for b in (message.blocks or []))
    )


@pytest.fixture
async def cluster(redis_server) -> AsyncIterator[Cluster]:
    def respond(body: dict) -> Script:
        tag = body["messages"][-1]["content"].split()[-1]
        return Script(tokens=words(answer_for(tag)), delay=0.03)

    model = FakeOpenAI(responder=respond)
    slack = FakeSlack()
    await model.start()
    await slack.start()
    cluster = Cluster(slack, model, redis_server)
    try:
        yield cluster
    finally:
        for replica in cluster.replicas:
            await replica.stop()
        await slack.stop()
        await model.stop()


async def test_two_replicas_answer_each_mention_once_within_the_workspace_budget(cluster: Cluster):
    await cluster.start(2)
    tags = [f"q{n}" for n in range(10)]
    for tag in tags:
        await cluster.ask(tag)
    for tag in tags[:4]:  # Slack retries some events; they may reach the other replica
        channel, ts = cluster.asked[tag]
        event = cluster.slack.mention_event(f"U{tag}", f"question {tag}", channel, ts=ts)
        await cluster.slack.send_event(event, retry_num=1, retry_reason="timeout")
    await cluster.wait_settled(90)
    cluster.check_promises(exact=set(tags))
    assert cluster.slack.rate_limited["chat.update"] == 0
    assert len(cluster.model.requests) == 10


async def test_model_drops_and_stalls_are_marked_and_keep_the_text(cluster: Cluster):
    def respond(body: dict) -> Script:
        tag = body["messages"][-1]["content"].split()[-1]
        tokens = words(answer_for(tag))
        if tag.startswith("drop"):
            return Script(tokens=tokens, delay=0.03, fail="drop", fail_after=10)
        if tag.startswith("stall"):
            return Script(tokens=tokens, delay=0.03, fail="stall", fail_after=10)
        return Script(tokens=tokens, delay=0.03)

    cluster.model.responder = respond
    await cluster.start(2)
    for tag in ["ok1", "drop1", "stall1", "ok2", "drop2", "stall2"]:
        await cluster.ask(tag)
    await cluster.wait_settled(60)
    cluster.check_promises(exact={"ok1", "ok2"}, marked={"drop1", "drop2", "stall1", "stall2"})


async def test_a_429_storm_and_5xx_from_slack_still_end_exact(cluster: Cluster):
    await cluster.start(2)
    cluster.slack.fail("chat.update", "ratelimited", status=429, times=4, retry_after=1)
    cluster.slack.fail("chat.update", "internal_error", status=500, times=2)
    tags = [f"s{n}" for n in range(4)]
    for tag in tags:
        await cluster.ask(tag)
    await cluster.wait_settled(90)
    cluster.check_promises(exact=set(tags))


async def test_a_replica_killed_mid_answer_is_finished_by_its_peer(cluster: Cluster):
    def respond(body: dict) -> Script:
        tag = body["messages"][-1]["content"].split()[-1]
        return Script(tokens=words(answer_for(tag, 120)), delay=0.05)

    cluster.model.responder = respond
    await cluster.start(2)
    tags = [f"k{n}" for n in range(6)]
    for tag in tags:
        await cluster.ask(tag)
    await asyncio.sleep(2.0)  # every answer is streaming now
    cluster.replicas[0].kill()
    await cluster.wait_settled(60)
    for tag in tags:
        replies = cluster.replies(tag)
        assert replies and not any(_in_progress(m) for m in replies), f"{tag} orphaned: {cluster.shown(tag)!r}"
    interrupted = [t for t in tags if "interrupted" in cluster.shown(t)]
    finished = [t for t in tags if cluster.shown(t) == answer_for(t, 120)]
    assert interrupted, "the killed replica had answers in flight"
    assert len(interrupted) + len(finished) == len(tags)
    for tag in interrupted:
        assert answer_for(tag, 120).startswith(_before_notice(cluster.shown(tag)))


async def test_answers_survive_a_redis_restart(cluster: Cluster):
    await cluster.start(2)
    for tag in ["r1", "r2", "r3"]:
        await cluster.ask(tag)
    await asyncio.sleep(0.5)
    cluster.redis.restart()
    for tag in ["r4", "r5"]:
        await cluster.ask(tag)
    await cluster.wait_settled(60)
    cluster.check_promises(exact={"r1", "r2", "r3", "r4", "r5"})


def _status_now(slack: FakeSlack, channel: str, thread_ts: str) -> str | None:
    """The thread's assistant status as Slack shows it now (the last one set), or None."""
    set_here = [s["status"] for s in slack.statuses if (s["channel"], s["thread_ts"]) == (channel, thread_ts)]
    return set_here[-1] if set_here else None


async def test_a_replica_killed_before_its_first_words_leaves_no_thinking_status(cluster: Cluster):
    def respond(body: dict) -> Script:
        tag = body["messages"][-1]["content"].split()[-1]
        return Script(tokens=words(answer_for(tag)), delay=0.03, first_delay=6.0)  # a slow first token

    cluster.model.responder = respond
    await cluster.start(2, TRICKLE_IDLE_TIMEOUT="30")
    tags = [f"t{n}" for n in range(4)]  # Socket Mode alternates: each replica gets two
    for tag in tags:
        await cluster.ask(tag)

    def all_thinking() -> bool:
        return all(cluster.replies(t) and _status_now(cluster.slack, *cluster.asked[t]) == "is thinking…" for t in tags)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not all_thinking():
        assert loop.time() < deadline, "placeholders and statuses did not all show up"
        await asyncio.sleep(0.05)
    assert not cluster.model.emitted  # nobody has a first word yet
    cluster.replicas[0].kill()
    await cluster.wait_settled(60)

    interrupted = {t for t in tags if "interrupted" in cluster.shown(t)}
    assert interrupted, "the killed replica had answers in flight"
    cluster.check_promises(exact=set(tags) - interrupted, marked=interrupted)
    for tag in tags:
        assert _status_now(cluster.slack, *cluster.asked[tag]) == "", f"{tag}: still 'is thinking…'"
        assert not any(b.get("type") == "actions" for m in cluster.replies(tag) for b in m.blocks or [])
