"""Markdown to Slack mrkdwn, on CommonMark's parse (markdown-it-py), for a text cut anywhere.

`parser` and `blocks` set markdown-it up and record where marks sit; `fences` closes a
fence in a list or quote where the model meant to; `inline` and `render` turn the tokens
into edits of the model's text; `pieces` converts a growing answer without parsing its
finished part again.
"""

from __future__ import annotations

from bots.slack.mrkdwn.inline import LABEL_BAR
from bots.slack.mrkdwn.pieces import to_mrkdwn
from bots.slack.mrkdwn.render import RULE

__all__ = ["LABEL_BAR", "RULE", "to_mrkdwn"]
