"""Sharding: a process runs only the shards TRICKLE_SHARD_IDS names, and still answers."""

from __future__ import annotations

import pytest

from bots.settings import Settings
from core.settings import SettingsError
from tests.fakes.openai_server import script_from_text
from tests.test_discord_ask import final_of


async def test_a_process_identifies_with_only_its_shards_and_answers(discord_bot) -> None:
    bot = await discord_bot(env={"TRICKLE_SHARD_COUNT": "2", "TRICKLE_SHARD_IDS": "1"})
    assert [session.shard for session in bot.fake._sessions.values()] == [[1, 2]]
    bot.model.script_queue.append(script_from_text("Hello from shard one."))
    interaction = await bot.fake.send_interaction("ask", {"prompt": "hi"})
    await bot.fake.wait_until(lambda: final_of(bot.fake, interaction.token) == "Hello from shard one.")


@pytest.mark.parametrize(
    "env, name",
    [
        ({"TRICKLE_SHARD_IDS": "0"}, "TRICKLE_SHARD_IDS"),
        ({"TRICKLE_SHARD_COUNT": "2", "TRICKLE_SHARD_IDS": "2"}, "TRICKLE_SHARD_IDS"),
        ({"TRICKLE_SHARD_COUNT": "2", "TRICKLE_SHARD_IDS": "a"}, "TRICKLE_SHARD_IDS"),
        ({"TRICKLE_SHARD_COUNT": "0"}, "TRICKLE_SHARD_COUNT"),
    ],
)
def test_bad_shard_settings_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_mapping(env)


def test_shard_ids_default_to_all_shards() -> None:
    settings = Settings.from_mapping({"TRICKLE_SHARD_COUNT": "3"})
    assert (settings.shard_count, settings.shard_ids) == (3, None)
