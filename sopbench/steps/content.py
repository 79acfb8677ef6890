"""Content steps: ``content_generate`` (drafts per platform) and ``social_post``.

Both go through the ``content`` client (:mod:`sopbench.content.adapter`):
drafts come from a content template (no LLM needed) or an LLM prompt, in the
entity's voice; ``review: wait`` pauses the run until every draft is
approved or rejected (a decision wakes the run). ``social_post`` publishes
only approved drafts whose fingerprint is unchanged, through Mixpost (each
to its entity's own account, see :mod:`sopbench.content.accounts`) or a
Discord webhook. Who may review is :mod:`sopbench.content.reviewers`' rule
(the step's ``reviewers`` roles, never the run's starter). A dry-run
simulates both.
"""

from __future__ import annotations

from sopbench.content.accounts import AccountTargets
from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome, Wait
from sopbench.model.steps import ContentGenerateParams, SocialPostParams
from sopbench.steps._base import BaseHandler

__all__ = ["ContentGenerate", "SocialPost"]


class ContentGenerate(BaseHandler):
    Params = ContentGenerateParams
    effects = True

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(ContentGenerateParams)
        content = call.services.client("content", None)
        request = params.model_dump(mode="json", by_alias=True)
        made = call.effect(
            "drafts",
            request,
            lambda key: content.generate(
                entity=call.services.entity_context(call.run.entity),
                params=params,
                run_id=call.run.id,
                step_path=call.path,
                idempotency_key=key,
            ),
        )
        draft_ids = list(made["draft_ids"])
        if params.review == "wait":
            return self._decided(call, draft_ids)
        return Done({"draft_ids": draft_ids})

    def _decided(self, call: StepCall, draft_ids: list[str]) -> Outcome:
        content = call.services.client("content", None)
        if not content.all_decided(draft_ids):
            return Wait("review", detail={"draft_ids": draft_ids})
        decisions = content.decisions(draft_ids)
        return Done(
            {
                "draft_ids": draft_ids,
                "decisions": decisions,
                "approved": [d for d in draft_ids if decisions.get(d) == "approved"],
            }
        )

    def resume(self, call: StepCall) -> Outcome:
        draft_ids = call.memo.get("draft_ids")
        if not draft_ids:
            return self.run(call)
        return self._decided(call, list(draft_ids))

    def simulate(self, call: StepCall) -> Outcome:
        params = call.typed(ContentGenerateParams)
        source = params.template or "llm prompt"
        ids = [f"dry-run-{platform}" for platform in params.platforms]
        return Done({"draft_ids": ids, "approved": ids, "simulated": True, "source": source})


class SocialPost(BaseHandler):
    """Publish (or schedule) approved drafts; drafts edited after approval are refused."""

    Params = SocialPostParams
    effects = True

    def _drafts(self, call: StepCall) -> list[str]:
        drafts = call.typed(SocialPostParams).drafts
        return [drafts] if isinstance(drafts, str) else list(drafts)

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(SocialPostParams)
        publisher = call.services.client("content", params.connection)
        posted = call.effect(
            "publish",
            {"drafts": self._drafts(call), "via": params.via, "publish_at": params.publish_at},
            lambda key: publisher.publish(
                self._drafts(call),
                via=params.via,
                publish_at=params.publish_at,
                idempotency_key=key,
                targets=AccountTargets.of(call.services.workspace.entities),
            ),
        )
        return Done(
            {
                "post_ids": list(posted["post_ids"]),
                "posts": list(posted["posts"]),
                "skipped": list(posted.get("skipped", [])),
            }
        )

    def simulate(self, call: StepCall) -> Outcome:
        return Done(
            {"post_ids": [f"dry-run-post-{d}" for d in self._drafts(call)], "simulated": True}
        )
