"""The objectives kind (reconciler/kinds/objectives/kind.py): identity, diff, check, and its calls through a
client that speaks the kind's API table to the simulator's handlers."""

from __future__ import annotations

import pytest
from test_guardrails_kind import TableClient

from reconciler.errors import BadRequestError
from reconciler.kinds.objectives import sim as osim
from reconciler.kinds.objectives.kind import API, OBJECTIVES, VALIDATE_PATH, _reasons
from reconciler.kinds.objectives.models import DesiredObjectives, RemoteObjectives

A = {"objective_name": "ask_experience", "objective_prompt": "Ask about the last role.",
     "next_required_objective": "ask_salary"}
B = {"objective_name": "ask_salary", "objective_prompt": "Ask for the expected salary."}


class CheckingClient(TableClient):
    pass


@pytest.fixture
def client():
    return CheckingClient(osim.handle)


def desired(name="acme-screening", data=(A, B), **kw):
    return DesiredObjectives(name=name, data=tuple(data), **kw)


def test_the_table():
    assert API.path == "/v2/objectives" and API.id_field == "objectives_id" and API.first_page == 1
    assert API.gone("Objectives not found") and API.params == {}
    assert VALIDATE_PATH == "/v2/objectives/validate"


def test_create_list_and_no_changes_across_spellings(client):
    oid = OBJECTIVES.create(client, OBJECTIVES.document(desired()))
    (remote,) = OBJECTIVES.list(client)
    assert remote.objectives_id == oid and remote.name == "acme-screening"
    other = desired(data=({**{k: v for k, v in A.items() if k != "next_required_objective"},
                           "next_required_objectives": ["ask_salary"]}, B))
    assert OBJECTIVES.in_place_changes(other, remote) == {}
    assert [q["page"] for m, p, q in client.requests if m == "GET"] == ["1"]


def test_a_changed_objective_replaces_data_whole_in_one_patch(client):
    oid = OBJECTIVES.create(client, OBJECTIVES.document(desired()))
    changed = desired(data=(A, {**B, "objective_prompt": "Ask for the salary range."}), allow_loops=False)
    changes = OBJECTIVES.in_place_changes(changed, OBJECTIVES.get(client, oid), OBJECTIVES.document(changed))
    assert list(changes) == ["data", "allow_loops"]
    assert changes["data"][1][1]["objective_prompt"] == "Ask for the salary range." and changes["allow_loops"] == (
        None, False)
    assert OBJECTIVES.update(client, oid, changes) is True
    assert OBJECTIVES.in_place_changes(changed, OBJECTIVES.get(client, oid)) == {}
    assert OBJECTIVES.update(client, oid, changes) is False  # 304


def test_a_pinned_set_is_renamed(client):
    oid = OBJECTIVES.create(client, OBJECTIVES.document(desired("old")))
    assert OBJECTIVES.in_place_changes(desired("new", objectives_id=oid), OBJECTIVES.get(client, oid)) == {
        "name": ("old", "new")}
    OBJECTIVES.rename(client, oid, "newer")
    assert OBJECTIVES.get(client, oid).name == "newer"


def test_newer_set_fields_are_compared_when_declared(client):
    oid = OBJECTIVES.create(client, OBJECTIVES.document(desired()))
    d = desired(extra={"description": "screening"})
    assert OBJECTIVES.in_place_changes(d, OBJECTIVES.get(client, oid)) == {"description": (None, "screening")}


def test_the_protocol_accessors(client):
    oid = OBJECTIVES.create(client, OBJECTIVES.document(desired()))
    r = OBJECTIVES.get(client, oid)
    assert OBJECTIVES.remote_id(r) == oid and OBJECTIVES.remote_name(r) == "acme-screening" and OBJECTIVES.managed(r)
    assert OBJECTIVES.name_of(desired()) == "acme-screening" and OBJECTIVES.references == ()
    assert OBJECTIVES.remote_attributes(r)["data"][1] == B


def test_identity_and_replace():
    assert OBJECTIVES.identity(desired()) == ("name", "acme-screening")
    assert OBJECTIVES.identity(desired(objectives_id="o1")) == ("id", "o1")
    assert OBJECTIVES.replace_reason(desired(), RemoteObjectives("o1"), ()) is None
    assert OBJECTIVES.replace_reason(desired(), RemoteObjectives("o1"), {"acme-screening"})


def test_check_asks_the_api_and_saves_nothing(client):
    assert OBJECTIVES.check(client, desired()) is None
    bad = desired(data=({**A, "next_required_objective": "nope"},))
    assert OBJECTIVES.check(client, bad) == "data[0]: nope is not an objective of the set"
    assert osim.objectives(client.sim) == []
    assert [p for m, p, q in client.requests] == [VALIDATE_PATH, VALIDATE_PATH]


def test_check_takes_a_400_as_the_reason():
    class Refusing:
        def _call(self, method, path, json=None):
            raise BadRequestError("objective_prompt is too long", status_code=400)

    assert OBJECTIVES.check(Refusing(), desired()) == "objective_prompt is too long"


@pytest.mark.parametrize(("body", "reason"), [
    ({"valid": True}, None), ({}, None), (None, None), ({"message": "ok"}, None),
    ({"valid": False, "errors": ["a", {"message": "b"}]}, "a; b"),
    ({"is_valid": False, "error": "loop"}, "loop"), ({"errors": ["x"]}, "x"),
    ({"valid": False}, "the API says the objectives are invalid"),
])
def test_validate_answers_of_every_shape(body, reason):
    assert _reasons(body) == reason


def test_delete(client):
    oid = OBJECTIVES.create(client, OBJECTIVES.document(desired()))
    assert OBJECTIVES.delete(client, oid) is True and OBJECTIVES.list(client) == []


def test_export_adopts_by_id_and_plans_no_changes(client):
    oid = OBJECTIVES.create(client, OBJECTIVES.document(desired(allow_loops=False)))
    remote = OBJECTIVES.get(client, oid)
    warnings: list[str] = []
    entry = OBJECTIVES.export_entry(remote, remote.name, warnings)
    assert entry == {"name": "acme-screening", "objectives_id": oid, "data": [A, B], "allow_loops": False}
    again = DesiredObjectives(entry["name"], tuple(entry["data"]), entry["allow_loops"], objectives_id=oid)
    assert OBJECTIVES.in_place_changes(again, remote) == {} and warnings == []
    OBJECTIVES.export_entry(RemoteObjectives("o9"), "empty", warnings)
    assert "has no objectives" in warnings[0]
