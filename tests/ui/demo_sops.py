"""Small SOPs the run-related page tests add to the reference workspace.

The reference SOPs call outside services or wait on a manual step first;
these finish (or wait on one approval) at once, so a test can start many
runs in a second and knows exactly which steps each one takes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["APPROVAL_SOP", "QUICK_SOP", "demo_home"]

REPO = Path(__file__).resolve().parents[2]

APPROVAL_SOP = "ui_demo_approval"
QUICK_SOP = "ui_demo_quick"

_APPROVAL = """\
sop_id: ui_demo_approval
entity: saas
name: Demo announcement with sign-off
description: Builds a headline, asks a manager to approve it, then finishes.
tags: [demo, approvals]
inputs:
  title: {type: string, required: true, label: Headline title}
  count: {type: integer, default: 2, minimum: 1, maximum: 10}
  ratio: {type: number, required: true}
  urgent: {type: boolean, default: false}
  size: {type: enum, values: [small, large], default: small}
  due: {type: date}
  notes: {type: text}
  items: {type: list, items: string}
examples:
  - {title: Launch, count: 3, ratio: 0.5, urgent: true, size: large,
     due: 2027-03-14, items: [alpha, beta]}
triggers:
  - manual: true
steps:
  - id: prepare
    type: transform
    name: Build the headline
    with:
      set: {headline: "{{ inputs.title }} x{{ inputs.count }}"}
  - id: sign_off
    type: approval
    with:
      title: "Approve {{ vars.headline }}"
      approvers: [manager]
  - id: finish
    type: transform
    with:
      set: {done: true}
"""

_QUICK = """\
sop_id: ui_demo_quick
entity: saas
name: Demo quick check
description: One check and one computed value; fails when told to.
tags: [demo]
inputs:
  label: {type: string, default: quick}
  ok: {type: boolean, default: true}
triggers:
  - manual: true
steps:
  - id: check
    type: validation
    with:
      rules:
        - check: "{{ inputs.ok }}"
          message: The input said not ok.
  - id: compute
    type: transform
    with:
      set: {shown: "{{ inputs.label }}"}
"""


def demo_home(target: Path) -> Path:
    """A copy of the reference workspace at ``target`` plus the two demo SOPs."""
    shutil.copytree(REPO / "sops", target / "sops")
    (target / "sops" / "saas" / f"{APPROVAL_SOP}.yaml").write_text(_APPROVAL, encoding="utf-8")
    (target / "sops" / "saas" / f"{QUICK_SOP}.yaml").write_text(_QUICK, encoding="utf-8")
    return target
