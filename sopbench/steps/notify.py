"""``notification``: a message to one of the entity's channels (discord, email or log)."""

from __future__ import annotations

import logging
from typing import Any

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome
from sopbench.errors import ConfigError, ConnectionNotConfigured
from sopbench.model.steps import NotificationParams
from sopbench.steps._base import BaseHandler

__all__ = ["Notification"]

logger = logging.getLogger("sopbench.notifications")
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class Notification(BaseHandler):
    """``log`` is built in; discord and email go through their integration clients."""

    Params = NotificationParams
    effects = True

    def _channel(self, call: StepCall) -> dict[str, Any]:
        params = call.typed(NotificationParams)
        if params.channel == "log":
            return {"type": "log"}
        channels = call.services.entity_context(call.run.entity).get("channels", {})
        if params.channel not in channels:
            raise ConfigError(
                f"entity '{call.run.entity}' has no channel '{params.channel}'",
                hint="declare it under the entity's channels in sops/entities.yaml",
            )
        return dict(channels[params.channel])

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(NotificationParams)
        channel = self._channel(call)
        if channel["type"] == "log":
            logger.log(
                _LEVELS[params.level],
                "[%s/%s] %s",
                call.run.entity,
                call.run.sop_id,
                params.message,
            )
            return Done(
                {
                    "delivered": True,
                    "message_id": f"log-{call.idempotency_key[3:15]}",
                    "channel": params.channel,
                }
            )
        try:
            client = call.services.client(channel["type"], channel.get("connection"))
        except ConnectionNotConfigured as exc:
            raise ConnectionNotConfigured(
                f"channel '{params.channel}' of entity '{call.run.entity}': {exc.message}",
                hint=exc.hint,
            ) from None
        request = {"channel": params.channel, "subject": params.subject, "message": params.message}
        sent = call.effect(
            "notify",
            request,
            lambda key: client.send(
                channel=channel, message=params.message, subject=params.subject, idempotency_key=key
            ),
        )
        return Done(
            {"delivered": True, "message_id": sent.get("message_id"), "channel": params.channel}
        )

    def simulate(self, call: StepCall) -> Outcome:
        params = call.typed(NotificationParams)
        self._channel(call)
        return Done(
            {
                "delivered": False,
                "message_id": None,
                "simulated": True,
                "channel": params.channel,
                "message": params.message,
            }
        )
