"""The Web API methods, one module per Slack API family, and the table that names them.

Every handler takes the call's params and returns Slack's success body or raises
`ApiError`; auth, faults and rate limits are checked before it runs (transport.py).
"""

from __future__ import annotations

from tests.fakes.slack_server.api import Handler
from tests.fakes.slack_server.methods.assistant import AssistantMethods
from tests.fakes.slack_server.methods.chat import ChatMethods
from tests.fakes.slack_server.methods.conversations import ConversationMethods
from tests.fakes.slack_server.methods.reactions import ReactionMethods
from tests.fakes.slack_server.methods.streams import StreamMethods
from tests.fakes.slack_server.methods.users import UserMethods
from tests.fakes.slack_server.methods.views import ViewMethods


class WebApiMethods(
    ChatMethods, StreamMethods, ReactionMethods, ConversationMethods, UserMethods, AssistantMethods, ViewMethods
):
    """Every method family, and the one table from Slack's method names to handlers."""

    def _handlers(self) -> dict[str, Handler]:
        """Method name -> handler. Handlers return the success body or raise `ApiError`."""
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "assistant.threads.setStatus": self._assistant_set_status,
            "assistant.threads.setTitle": self._assistant_set_title,
            "assistant.threads.setSuggestedPrompts": self._assistant_set_suggested_prompts,
            "views.open": self._views_open,
            "chat.startStream": self._chat_start_stream,
            "chat.appendStream": self._chat_append_stream,
            "chat.stopStream": self._chat_stop_stream,
            "apps.connections.open": self._apps_connections_open,
        }
