"""Discord's numbers, named once: API version, message flags, intents, response types.

Why a module of constants: every other piece of the fake (the gateway's intent filter,
the interaction callback, the message writer) speaks in these bits, and a test that reads
one should find the same name the fake enforces it with.
"""

from __future__ import annotations

from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
API_PREFIX = "/api/v10"

EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2

INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

# VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, ATTACH_FILES, READ_MESSAGE_HISTORY,
# ADD_REACTIONS, USE_APPLICATION_COMMANDS, SEND_MESSAGES_IN_THREADS: what a freshly
# invited bot typically holds; MENTION_EVERYONE is deliberately included so that a
# missing allowed_mentions really would ping @everyone.
DEFAULT_PERMISSIONS = (
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 17) | (1 << 6) | (1 << 31) | (1 << 38)
)

RESPONSE_PONG = 1
RESPONSE_MESSAGE = 4
RESPONSE_DEFERRED_MESSAGE = 5
RESPONSE_DEFERRED_UPDATE = 6
RESPONSE_UPDATE = 7

ATTACHMENT_OPTION = 11  # application command option type

Json = dict[str, Any]
