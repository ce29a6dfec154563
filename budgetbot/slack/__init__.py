"""The Slack edge: delivery through the Web API, mention resolution (and the Bolt app).

Rendering stays pure in :mod:`budgetbot.render.blocks`; this package does the I/O.
"""

from __future__ import annotations

from .deliver import make_web_client, post_message, respond_url
from .mentions import MentionResolver
from .notifier import SlackNotifier

__all__ = ["MentionResolver", "SlackNotifier", "make_web_client", "post_message", "respond_url"]
