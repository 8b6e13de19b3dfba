"""The one owner of answer tasks: spawning, failures logged once, the shutdown deadline."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.answer_tasks import AnswerTasks


async def test_a_failing_task_logs_its_traceback_once_and_the_others_run_on(caplog: pytest.LogCaptureFixture) -> None:
    tasks = AnswerTasks()
    finished: list[str] = []

    async def broken() -> None:
        raise KeyError("a bug")

    async def fine() -> None:
        await asyncio.sleep(0.01)
        finished.append("fine")

    with caplog.at_level(logging.ERROR, logger="trickle.assistant"):
        tasks.spawn(broken())
        tasks.spawn(fine())
        await tasks.settle(5)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert errors[0].exc_info[0] is KeyError
    assert finished == ["fine"] and len(tasks) == 0


async def test_drain_lets_quick_tasks_finish_without_interrupting_anyone() -> None:
    tasks = AnswerTasks()
    interrupted: list[bool] = []
    tasks.spawn(asyncio.sleep(0.01))
    assert await tasks.drain(3.0, lambda: interrupted.append(True)) == 0
    assert interrupted == [] and tasks.closing


async def test_drain_interrupts_after_two_thirds_and_cancels_what_is_left_at_the_deadline() -> None:
    tasks = AnswerTasks()
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()
    marks: dict[str, float] = {}

    async def obeys() -> None:  # ends once interrupted, like an answer writing its final
        await ended.wait()

    async def deaf() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            marks["cancelled"] = loop.time()

    started = loop.time()
    tasks.spawn(obeys())
    tasks.spawn(deaf())

    def interrupt() -> None:
        marks["interrupted"] = loop.time()
        ended.set()

    cut = await tasks.drain(0.3, interrupt)
    assert cut == 1
    assert marks["interrupted"] - started == pytest.approx(0.2, abs=0.15)
    assert marks["cancelled"] >= marks["interrupted"]
    assert len(tasks) == 0


async def test_an_adopted_task_is_waited_for_like_a_spawned_one() -> None:
    tasks = AnswerTasks()
    release = asyncio.Event()
    outside = asyncio.create_task(release.wait())
    tasks.adopt(outside)
    tasks.adopt(outside)  # twice is once
    assert len(tasks) == 1
    asyncio.get_running_loop().call_later(0.05, release.set)
    assert await tasks.drain(5.0, lambda: None) == 0
    assert outside.done() and len(tasks) == 0


async def test_work_spawned_while_draining_is_waited_for_and_after_the_drain_is_dropped() -> None:
    tasks = AnswerTasks()
    done: list[str] = []

    async def late() -> None:
        await asyncio.sleep(0.1)
        done.append("late")

    async def first() -> None:
        await asyncio.sleep(0.05)
        tasks.spawn(late())  # e.g. a status cleared as the answer ends
        done.append("first")

    tasks.spawn(first())
    assert await tasks.drain(3.0, lambda: None) == 0
    assert done == ["first", "late"]

    async def after() -> None:
        done.append("after")

    assert tasks.spawn(after()) is None
    await asyncio.sleep(0)
    assert done == ["first", "late"] and tasks.closed


async def test_a_listener_that_spawns_just_after_the_drain_began_is_still_waited_for() -> None:
    tasks = AnswerTasks()
    done: list[str] = []

    async def answer() -> None:
        await asyncio.sleep(0.05)
        done.append("answered")

    loop = asyncio.get_running_loop()
    loop.call_later(0.05, lambda: tasks.spawn(answer()))  # between an event's ack and its spawn
    assert await tasks.drain(3.0, lambda: None) == 0
    assert done == ["answered"]
