"""``plan --check`` (reconciler/engine/plancheck.py): every created or changed object of a checkable kind is
validated by the API, one request each; a refusal is an error naming it; nothing else is asked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.engine.kind import has
from reconciler.engine.plancheck import WithCheck, check_changes
from reconciler.errors import RetriesExhaustedError
from reconciler.kinds.objectives.kind import OBJECTIVES


@dataclass(frozen=True)
class C:
    action: str
    name: str
    kind: str
    desired: Any = None


class Checkable:
    key, noun = "sets", "set"

    def __init__(self, verdicts):
        self.verdicts, self.asked = verdicts, []

    def check(self, client, desired):
        self.asked.append(desired)
        verdict = self.verdicts[desired]
        if isinstance(verdict, Exception):
            raise verdict
        return verdict


class Plain:
    key, noun = "plain", "plain"


def test_only_created_changed_or_replaced_objects_of_checkable_kinds_are_asked():
    k = Checkable({"a": None, "b": "loops without allow_loops", "c": None})
    changes = [C("create", "a", "sets", "a"), C("update", "b", "sets", "b"), C("replace", "c", "sets", "c"),
               C("delete", "d", "sets", None), C("create", "p", "plain", "p")]
    errors, checked = check_changes([k, Plain()], changes, client=None)
    assert k.asked == ["a", "b", "c"]
    assert checked == [("sets", "a"), ("sets", "b"), ("sets", "c")]
    assert errors == ["set b: the API refuses it (--check): loops without allow_loops"]


def test_a_check_that_cannot_be_made_is_an_error():
    k = Checkable({"a": RetriesExhaustedError("503 after 4 attempts")})
    errors, checked = check_changes([k], [C("create", "a", "sets", "a")], client=None)
    assert checked == [] and errors == ["set a: could not be checked (--check): 503 after 4 attempts"]


def test_objectives_sets_are_checkable_and_guardrails_are_not():
    from reconciler.kinds.guardrails.kind import GUARDRAILS

    assert has(OBJECTIVES, WithCheck) and not has(GUARDRAILS, WithCheck)


def test_checked_adds_the_refusals_to_the_plans_errors():
    from reconciler.engine.models import Plan
    from reconciler.engine.plancheck import checked

    k = Checkable({"b": "no"})
    plan = Plan(changes=(C("create", "b", "sets", "b"),), errors=("earlier",))
    out = checked(plan, None, [k])
    assert out.errors == ("earlier", "set b: the API refuses it (--check): no") and out.checked == (("sets", "b"),)
    assert Plan().checked is None  # without --check: absent from the plan's JSON
