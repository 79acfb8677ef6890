"""The built-in step handlers, one module per family.

:func:`builtin_handlers` builds a fresh registry holding all 18 built-in
types; nothing is registered at import time.
"""

from __future__ import annotations

from sopbench.engine.handlers import HandlerRegistry
from sopbench.steps._base import BaseHandler
from sopbench.steps.children import CrossEntityTrigger
from sopbench.steps.content import ContentGenerate, SocialPost
from sopbench.steps.crm import CreateRecord, CreateTask, FieldUpdate
from sopbench.steps.flow import Condition, Delay, Loop, Transform, Validation
from sopbench.steps.http import ApiCall, Webhook
from sopbench.steps.human import Approval, Manual
from sopbench.steps.media import MediaRequest
from sopbench.steps.notebook import Notebook
from sopbench.steps.notify import Notification

__all__ = ["BUILTIN_HANDLERS", "builtin_handlers"]

BUILTIN_HANDLERS: dict[str, type[BaseHandler]] = {
    "manual": Manual,
    "approval": Approval,
    "notification": Notification,
    "validation": Validation,
    "create_task": CreateTask,
    "create_record": CreateRecord,
    "field_update": FieldUpdate,
    "api_call": ApiCall,
    "webhook": Webhook,
    "condition": Condition,
    "loop": Loop,
    "delay": Delay,
    "transform": Transform,
    "content_generate": ContentGenerate,
    "social_post": SocialPost,
    "media_request": MediaRequest,
    "cross_entity_trigger": CrossEntityTrigger,
    "notebook": Notebook,
}


def builtin_handlers() -> HandlerRegistry:
    """A registry with every built-in step type (entry points load on first lookup)."""
    registry = HandlerRegistry()
    for name, handler in BUILTIN_HANDLERS.items():
        registry.register(name, handler())
    return registry
