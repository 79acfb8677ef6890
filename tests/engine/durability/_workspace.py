"""The workspace the durability proofs run in: one entity, 50 approvers, four SOPs.

Every SOP that calls out takes the server's base URL as the input ``base``
(``http://127.0.0.1:PORT/<scenario>``), so each scenario's requests can be
told apart and held by path prefix.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["APPROVERS", "CALL_STEPS", "CRASH_STEPS", "STARTER", "write_workspace"]

STARTER = "starter"
APPROVERS = [f"p{i:02d}" for i in range(1, 51)]

# The 10-step SOP: transforms and outside calls (webhook / api_call POST and PUT).
# Results of earlier steps feed later ones, so a resumed run that lost or
# re-ran anything would end with different outputs.
CRASH_STEPS = [f"s{i:02d}" for i in range(1, 11)]
CALL_STEPS = {
    "s02": "webhook",
    "s04": "api_call",
    "s06": "webhook",
    "s07": "api_call",
    "s09": "webhook",
}

CRASH10 = """\
sop_id: crash10
entity: shop
name: Ten steps, five of them outside calls
inputs:
  base: {type: string, required: true}
outputs:
  total: "{{ vars.total }}"
  s04_seen: "{{ steps.s04.json.path_completions }}"
  s07_seen: "{{ steps.s07.json.path_completions }}"
  s07_echo: "{{ steps.s07.json.body }}"
steps:
  - id: s01
    type: transform
    with: {set: {total: 1}}
  - id: s02
    type: webhook
    with:
      url: "{{ inputs.base }}/s02"
      body: {run: "{{ run.id }}", total: "{{ vars.total }}"}
  - id: s03
    type: transform
    with: {set: {total: "{{ vars.total + steps.s02.status }}"}}
  - id: s04
    type: api_call
    with:
      method: POST
      url: "{{ inputs.base }}/s04"
      json: {run: "{{ run.id }}", total: "{{ vars.total }}"}
  - id: s05
    type: transform
    with: {set: {total: "{{ vars.total * 10 + steps.s04.json.path_completions }}"}}
  - id: s06
    type: webhook
    with:
      url: "{{ inputs.base }}/s06"
      body: {run: "{{ run.id }}", total: "{{ vars.total }}"}
  - id: s07
    type: api_call
    with:
      method: PUT
      url: "{{ inputs.base }}/s07"
      json: {total: "{{ vars.total }}", s04: "{{ steps.s04.json.key }}"}
  - id: s08
    type: transform
    with: {set: {total: "{{ vars.total + steps.s07.json.path_completions }}"}}
  - id: s09
    type: webhook
    with:
      url: "{{ inputs.base }}/s09"
      body: {run: "{{ run.id }}", total: "{{ vars.total }}"}
  - id: s10
    type: transform
    with: {set: {total: "{{ vars.total + 1 }}", done: true}}
"""

# Approval SOPs: the step after the approval calls the server, so "it ran once"
# is seen from outside as well as in the journal.
APPROVAL = """\
sop_id: {sop_id}
entity: shop
name: Needs {required} approval(s)
inputs:
  base: {{type: string, required: true}}
steps:
  - id: prepare
    type: transform
    with: {{set: {{ready: true}}}}
  - id: sign_off
    type: approval
    with:
      title: Go ahead?
      approvers: [approver]
      required: {required}
  - id: after
    type: webhook
    with:
      url: "{{{{ inputs.base }}}}/after"
      body: {{run: "{{{{ run.id }}}}", decided_by: "{{{{ steps.sign_off.decided_by }}}}"}}
  - id: done
    type: transform
    with: {{set: {{decision: "{{{{ steps.sign_off.decision }}}}"}}}}
"""

# For the two-worker proof: three steps call the (slowed down) server, which
# notices two calls for one key at once; runs with `pause` park on a durable
# delay that a worker wakes.
WORK = """\
sop_id: work
entity: shop
name: Calls, and maybe a pause
inputs:
  base: {type: string, required: true}
  pause: {type: boolean, default: false}
steps:
  - id: a
    type: webhook
    with: {url: "{{ inputs.base }}/{{ run.id }}/a", body: {step: a}}
  - id: b
    type: transform
    with: {set: {b: "{{ steps.a.status }}"}}
  - id: pause
    type: delay
    when: "{{ inputs.pause }}"
    with: {duration: 1s}
  - id: c
    type: api_call
    with: {method: POST, url: "{{ inputs.base }}/{{ run.id }}/c", json: {step: c}}
  - id: d
    type: webhook
    with: {url: "{{ inputs.base }}/{{ run.id }}/d", body: {step: d}}
"""


def write_workspace(home: Path, db_url: str) -> Path:
    sops = home / "sops"
    (sops / "shop").mkdir(parents=True)
    (sops / "entities.yaml").write_text(
        "entities:\n  shop:\n    name: Corner Shop\n    timezone: UTC\n"
    )
    people = ["roles:", "  approver: Decides.", "  owner: Starts runs.", "people:"]
    people += [f"  {STARTER}:", "    name: The Starter", "    roles: [owner]"]
    for name in APPROVERS:
        people += [f"  {name}:", f"    name: Person {name}", "    roles: [approver]"]
    (sops / "people.yaml").write_text("\n".join(people) + "\n")
    (sops / "shop" / "crash10.yaml").write_text(CRASH10)
    for sop_id, required in (("approve_one", 1), ("approve_two", 2)):
        (sops / "shop" / f"{sop_id}.yaml").write_text(
            APPROVAL.format(sop_id=sop_id, required=required)
        )
    (sops / "shop" / "work.yaml").write_text(WORK)
    (home / ".env").write_text(f"SOPBENCH_DB_URL={db_url}\n")
    return home
