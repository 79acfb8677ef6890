"""Checks of one SOP file: steps, `with` models, template scopes and positions.

The broken-fixture suite (test_library.py) pins whole files; these tests pin
the rules one at a time on small SOPs.
"""

from __future__ import annotations

import textwrap

from sopbench.model.sop import SopFile
from sopbench.sopcheck import check_sop
from sopbench.yamlsource import parse_yaml

HEAD = "sop_id: demo\nentity: shop\nname: Demo\n"


def check(body: str, *, head: str = HEAD) -> tuple[SopFile | None, list[str]]:
    doc = parse_yaml(head + textwrap.dedent(body), "sops/shop/demo.yaml")
    sop = check_sop(doc)
    return sop, [f"{p.line}:{p.column}: {p.message}" for p in sorted(doc.problems)]


def problems(body: str, *, head: str = HEAD) -> list[str]:
    return check(body, head=head)[1]


def test_a_valid_sop() -> None:
    sop, found = check(
        """\
        inputs:
          who: {type: string, default: team}
        steps:
          - id: greet
            type: notification
            with: {message: "Hi {{ inputs.who }}"}
          - id: again
            type: notification
            when: "{{ steps.greet.delivered }}"
            with: {message: "{{ steps.greet.message_id }}"}
        outputs:
          id: "{{ steps.again.message_id }}"
        """
    )
    assert found == []
    assert sop is not None
    assert sop.path == "sops/shop/demo.yaml"
    assert [s.id for s in sop.steps] == ["greet", "again"]
    assert sop.steps[0].params is not None
    assert sop.steps[0].params.model_dump()["message"] == "Hi {{ inputs.who }}"


def test_not_a_mapping() -> None:
    assert problems("", head="") == [
        "1:1: a SOP file must be a mapping of fields, this one is empty"
    ]
    assert problems("", head="just text\n") == [
        "1:1: a SOP file must be a mapping of fields, this one is 'just text'"
    ]


def test_templates_may_stand_for_any_typed_value() -> None:
    found = problems(
        """\
        inputs:
          n: {type: integer, default: 2}
          roles: {type: list, default: [manager]}
        steps:
          - id: ask
            type: approval
            with:
              title: Go?
              approvers: "{{ inputs.roles }}"
              required: "{{ inputs.n }}"
              timeout: "{{ inputs.n }}h"
        """
    )
    assert found == []


def test_template_values_are_still_read_for_references() -> None:
    found = problems(
        """\
        steps:
          - id: ask
            type: approval
            with: {title: Go?, approvers: [manager], required: "{{ inputs.count }}"}
        """
    )
    assert found == ["7:60: unknown input 'count' (declare it under `inputs:`)"]


def test_earlier_steps_are_visible_later_ones_are_not() -> None:
    found = problems(
        """\
        steps:
          - id: first
            type: notification
            with: {message: "{{ steps.second.message_id }}"}
          - id: second
            type: notification
            with: {message: "{{ steps.first.message_id }}"}
        """
    )
    assert found == [
        "7:25: step 'second' has not run yet here: it comes later, encloses this step "
        "or is in another branch"
    ]


def test_a_loop_body_sees_earlier_siblings_and_outer_steps_but_not_the_loop() -> None:
    found = problems(
        """\
        steps:
          - id: start
            type: notification
            with: {message: go}
          - id: each
            type: loop
            with:
              over: [1, 2]
              steps:
                - id: one
                  type: notification
                  with: {message: "{{ steps.start.message_id }} {{ item }}"}
                - id: two
                  type: notification
                  with: {message: "{{ steps.one.message_id }} {{ steps.each.items }}"}
          - id: after
            type: notification
            with: {message: "{{ steps.each.results }} {{ steps.two.delivered }}"}
        """
    )
    assert found == [
        "18:58: step 'each' has not run yet here: it comes later, encloses this step "
        "or is in another branch"
    ]


def test_condition_branches_do_not_see_each_other() -> None:
    found = problems(
        """\
        steps:
          - id: branch
            type: condition
            with:
              if: true
              then:
                - {id: yes_path, type: notification, with: {message: "yes"}}
              else:
                - {id: no_path, type: notification, with: {message: "{{ steps.yes_path.x }}"}}
          - id: after
            type: notification
            with:
              message: "{{ steps.yes_path.x }} {{ steps.no_path.x }} {{ steps.branch.branch }}"
        """
    )
    assert found == [
        "12:65: step 'yes_path' has not run yet here: it comes later, encloses this step "
        "or is in another branch"
    ]


def test_loop_item_names() -> None:
    found = problems(
        """\
        steps:
          - id: each
            type: loop
            with:
              over: [1, 2]
              as: row
              steps:
                - id: inner
                  type: loop
                  with:
                    over: "{{ row }}"
                    steps:
                      - {id: deep, type: notification, with: {message: "{{ row }} {{ item }}"}}
          - id: after
            type: notification
            with: {message: "{{ row }}"}
        """
    )
    # outside the loop `row` is unknown (the suggestion is the closest known name)
    assert found == ["19:25: unknown name 'row' in template (did you mean 'now'?)"]


def test_a_steps_own_when_cannot_read_itself() -> None:
    found = problems(
        """\
        steps:
          - id: ask
            type: approval
            when: "{{ steps.ask.decision }}"
            with: {title: Go?, approvers: [manager]}
        """
    )
    assert found == ["7:15: step 'ask' cannot read its own result"]


def test_unknown_names_get_suggestions() -> None:
    found = problems(
        """\
        steps:
          - id: tell
            type: notification
            with:
              message: "{{ step.tell }} {{ var.x }} {{ entity.name }} {{ run.id }} {{ now() }}"
        """
    )
    assert found == [
        "8:20: unknown name 'step' in template (did you mean 'steps'?)",
        "8:36: unknown name 'var' in template (did you mean 'vars'?)",
    ]


def test_references_by_subscript() -> None:
    found = problems(
        """\
        steps:
          - id: tell
            type: notification
            with: {message: "{{ steps['missing'].x }} {{ inputs['nope'] }}"}
        """
    )
    assert found == [
        "7:25: unknown step 'missing'",
        "7:50: unknown input 'nope' (declare it under `inputs:`)",
    ]


def test_positions_in_block_scalars() -> None:
    found = problems(
        """\
        steps:
          - id: literal
            type: manual
            with:
              instructions: |
                Step one.
                Ask {{ steps.ghost.x }} and {{ inputs.nope }}.
          - id: broken
            type: manual
            with:
              instructions: |

                Step one.
                Then {{ broken | }}.
          - id: folded
            type: manual
            with:
              instructions: >
                Folded text that
                reads {{ steps.phantom.x }} here.
          - id: plain
            type: manual
            with:
              instructions: Plain text
                over two lines {{ steps.spirit.x }}
        """
    )
    assert found == [
        "10:16: unknown step 'ghost'",
        "10:40: unknown input 'nope' (declare it under `inputs:`)",
        "17:9: template syntax error: expected token 'name', got 'end of print statement'",
        "23:18: unknown step 'phantom'",
        "28:27: unknown step 'spirit'",
    ]


def test_same_problem_twice_in_one_template_is_reported_once() -> None:
    found = problems(
        """\
        steps:
          - id: tell
            type: notification
            with: {message: "{{ steps.ghost.a }} {{ steps.ghost.b }}"}
        """
    )
    assert found == ["7:25: unknown step 'ghost'"]


def test_outputs_see_every_step() -> None:
    found = problems(
        """\
        steps:
          - id: each
            type: loop
            with:
              over: [1]
              steps: [{id: inner, type: notification, with: {message: m}}]
        outputs:
          a: "{{ steps.inner.message_id }}"
          b: "{{ steps.each.results }}"
          c: "{{ steps.nothing.x }}"
          Bad: 1
        """
    )
    assert found == [
        "13:10: unknown step 'nothing'",
        "14:3: key 'Bad' is not a valid id "
        "(lowercase letters, digits and _, starting with a letter)",
    ]


def test_missing_with() -> None:
    found = problems(
        """\
        steps:
          - id: ask
            type: approval
          - id: wait
            type: delay
          - id: tell
            type: notification
        """
    )
    assert found == [
        "5:5: missing `with:`; an approval step needs `title`, `approvers` under it",
        "7:5: give exactly one of `duration` or `until`",
        "9:5: missing `with:`; a notification step needs `message` under it",
    ]


def test_unknown_type_skips_with_checks() -> None:
    found = problems(
        """\
        steps:
          - id: odd
            type: teleport
            with: {anything: 1}
        """
    )
    assert found == ["6:11: unknown step type 'teleport'"]


def test_nested_problems_are_all_reported() -> None:
    found = problems(
        """\
        steps:
          - id: each
            type: loop
            with:
              over: [1]
              steps:
                - id: check
                  type: condition
                  with:
                    if: "{{ item }}"
                    then:
                      - {id: Bad, type: notification, with: {message: m}}
                      - {id: each, type: notification, with: {mesage: m}}
                    else: [5]
        """
    )
    assert found == [
        "15:22: id: 'Bad' is not a valid id "
        "(lowercase letters, digits and _, starting with a letter)",
        "16:22: duplicate step id 'each' (first used on line 5)",
        "16:54: missing required field 'message'",
        "16:55: unknown field 'mesage' (did you mean 'message'?)",
        "17:20: a step is a mapping with at least `id` and `type`",
    ]


def test_input_defaults_checked_once() -> None:
    found = problems(
        """\
        inputs:
          n: {type: integer, default: lots}
        examples:
          - {}
          - {n: 3}
        triggers:
          - schedule: {cron: "@daily"}
        steps:
          - {id: tell, type: notification, with: {message: "{{ inputs.n }}"}}
        """
    )
    assert found == ["5:31: default of input 'n': expected a whole number, got 'lots'"]


def test_examples_and_schedules_are_checked_like_runs() -> None:
    found = problems(
        """\
        inputs:
          day: {type: date, required: true}
        examples:
          - {day: 2027-01-01}
          - {}
          - {day: tomorrow, extra: 1}
        triggers:
          - schedule: {cron: "@daily", inputs: {day: "{{ now() }}"}}
          - schedule: {cron: "@daily", inputs: {daay: "{{ now() }}"}}
          - schedule: {cron: "@daily", inputs: [day]}
        steps:
          - {id: tell, type: notification, with: {message: "{{ inputs.day }}"}}
        """
    )
    assert found == [
        "8:5: example 2: missing required input 'day'",
        "9:5: example 3: unknown input 'extra'; input 'day': expected a date like 2027-03-14, "
        "got 'tomorrow'",
        "12:40: schedule inputs: unknown input 'daay' (did you mean 'day'?); "
        "missing required input 'day'",
        "13:40: inputs: expected a mapping (key: value pairs), got a list",
    ]


def test_an_invalid_sop_returns_none_but_keeps_going() -> None:
    sop, found = check(
        """\
        tags: nope
        steps:
          - {id: a, type: notification, with: {message: "{{ steps.b.x }}"}}
          - {id: b, type: aproval}
        """
    )
    assert sop is None
    assert len(found) == 3
