"""The guardrail kind (reconciler/kinds/guardrails/kind.py): identity, diff, and its calls through a client that
speaks the kind's API table to the simulator's handlers."""

from __future__ import annotations

import json
import threading

import pytest

from reconciler.errors import NotFoundError
from reconciler.kinds.guardrails import sim as gsim
from reconciler.kinds.guardrails.kind import API, GUARDRAILS
from reconciler.kinds.guardrails.models import DesiredGuardrail, RemoteGuardrail
from reconciler.sim.sim_account import ApiError, _positive_int


class _Sim:
    def __init__(self):
        self._lock = threading.Lock()


class TableClient:
    """The generic calls a kind makes, done the way the kind's table says, against the sim's handlers."""

    def __init__(self, handler, sim=None):
        self.sim, self.handler, self.requests = sim or _Sim(), handler, []

    def _do(self, method, path, query=None, body=None):
        self.requests.append((method, path, dict(query or {})))
        parts = [p for p in path.split("/") if p]
        raw = b"" if body is None else json.dumps(body).encode()
        try:
            return self.handler(self.sim, method, parts, query or {}, raw, ApiError, _positive_int)
        except ApiError as e:
            if e.status == 404:
                raise NotFoundError(e.message, status_code=404) from None
            raise

    def list_objects(self, table):
        out, page = [], table.first_page
        while True:
            _, body = self._do("GET", table.path, {**table.params, "page": str(page), "limit": "2"})
            out.extend(table.parse(i) for i in body["data"])
            if not body["data"] or len(out) >= body["total_count"]:
                return out
            page += 1

    def get_object(self, table, object_id):
        _, body = self._do("GET", table.item_path(object_id))
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            body = body["data"]
        return table.parse(body)

    def create_object(self, table, payload, known_ids=()):
        _, body = self._do("POST", table.path, body=payload)
        return table.answer_id(body)

    def patch_object(self, table, object_id, ops):
        status, _ = self._do("PATCH", table.item_path(object_id), body=ops)
        return status != 304

    def delete_object(self, table, object_id):
        try:
            self._do("DELETE", table.item_path(object_id))
        except NotFoundError:
            return False
        return True

    def _call(self, method, path, json=None, params=None):
        return self._do(method, path, params, json)[1]


@pytest.fixture
def client():
    return TableClient(gsim.handle)


def new(client, d):
    return GUARDRAILS.create(client, GUARDRAILS.document(d))


def desired(name="acme_no_salary", **attrs):
    return DesiredGuardrail(name=name, attributes={"guardrail_prompt": "Never discuss salary.", **attrs})


def test_the_table_says_legacy_false_zero_based_pages_and_uuid():
    assert API.path == "/v2/guardrails" and API.params == {"legacy": "false"}
    assert API.first_page == 0 and API.id_field == "uuid" and API.id_aliases == ("guardrail_id",)
    assert API.parse({"guardrail_id": "g1", "guardrail_name": "n"}).guardrail_id == "g1"
    assert API.name_of(API.parse({"guardrails_id": "s1", "name": "set", "data": []})) is None  # never adopted
    assert API.gone("Guardrail not found") and API.key(API.parse({"uuid": "g2"})) == "g2"


def test_listing_pages_from_zero_with_legacy_false_and_never_returns_sets(client):
    for i in range(3):
        GUARDRAILS.create(client, GUARDRAILS.document(desired(f"g{i}")))
    gsim.add_legacy_set(client.sim, "Old set", [])
    found = GUARDRAILS.list(client)
    assert sorted(g.name for g in found) == ["g0", "g1", "g2"]
    gets = [q for m, p, q in client.requests if m == "GET"]
    assert [q["page"] for q in gets] == ["0", "1"] and all(q["legacy"] == "false" for q in gets)


def test_list_by_ids(client):
    a = GUARDRAILS.create(client, GUARDRAILS.document(desired("a")))
    GUARDRAILS.create(client, GUARDRAILS.document(desired("b")))
    assert [g.name for g in GUARDRAILS.list(client, ids=[a])] == ["a"]


def test_identity_is_the_name_or_the_pinned_id():
    assert GUARDRAILS.identity(desired()) == ("name", "acme_no_salary")
    assert GUARDRAILS.identity(DesiredGuardrail("n", {}, guardrail_id="g1")) == ("id", "g1")


def test_create_then_no_changes_then_an_in_place_patch(client):
    gid = new(client, desired(tags=["b", "a"]))
    remote = GUARDRAILS.get(client, gid)
    assert GUARDRAILS.in_place_changes(desired(tags=["a", "b"]), remote) == {}  # tags are a set
    changed = desired(tags=["a", "b"], guardrail_prompt="Never discuss pay.", modality="visual")
    changes = GUARDRAILS.in_place_changes(changed, remote, GUARDRAILS.document(changed))
    assert changes == {"guardrail_prompt": ("Never discuss salary.", "Never discuss pay."),
                       "modality": ("verbal", "visual")}
    assert GUARDRAILS.update(client, gid, changes) is True
    after = GUARDRAILS.get(client, gid)
    assert GUARDRAILS.in_place_changes(changed, after) == {}
    assert GUARDRAILS.update(client, gid, changes) is False  # 304: nothing changed
    assert GUARDRAILS.update(client, gid, {}) is False


def test_one_json_patch_of_adds():
    from reconciler.kinds.guardrails.kind import patch_ops

    assert patch_ops({"tags": (None, ["a"]), "a/b": (1, 2)}) == [
        {"op": "add", "path": "/tags", "value": ["a"]}, {"op": "add", "path": "/a~1b", "value": 2}]


def test_undeclared_attributes_are_never_compared(client):
    gid = new(client, desired(callback_url="https://hooks.example.com/g"))
    remote = GUARDRAILS.get(client, gid)
    assert GUARDRAILS.in_place_changes(desired(), remote) == {}  # callback_url, modality: the server's


def test_a_declared_field_the_server_lacks_is_added(client):
    gid = new(client, desired())
    changes = GUARDRAILS.in_place_changes(desired(callback_url="https://h.example.com"), GUARDRAILS.get(client, gid))
    assert changes == {"callback_url": (None, "https://h.example.com")}
    GUARDRAILS.update(client, gid, changes)
    assert GUARDRAILS.get(client, gid).callback_url == "https://h.example.com"


def test_a_pinned_guardrail_with_another_name_is_renamed_in_place(client):
    gid = new(client, desired("old_name"))
    pinned = DesiredGuardrail("new_name", {"guardrail_prompt": "Never discuss salary."}, guardrail_id=gid)
    assert GUARDRAILS.in_place_changes(pinned, GUARDRAILS.get(client, gid)) == {
        "guardrail_name": ("old_name", "new_name")}
    GUARDRAILS.rename(client, gid, "newer")
    assert GUARDRAILS.get(client, gid).name == "newer"


def test_the_protocol_accessors(client):
    gid = new(client, desired())
    r = GUARDRAILS.get(client, gid)
    assert GUARDRAILS.remote_id(r) == gid and GUARDRAILS.remote_name(r) == "acme_no_salary" and GUARDRAILS.managed(r)
    assert GUARDRAILS.name_of(desired()) == "acme_no_salary" and GUARDRAILS.references == ()
    assert GUARDRAILS.remote_attributes(r)["guardrail_prompt"] == "Never discuss salary."
    assert not GUARDRAILS.managed(RemoteGuardrail("g9", legacy_set=True))


def test_nothing_forces_a_replace_but_replace():
    remote = RemoteGuardrail("g1", name="acme_no_salary", modality="verbal")
    assert GUARDRAILS.replace_reason(desired(modality="visual"), remote, ()) is None
    assert GUARDRAILS.replace_reason(desired(), remote, {"acme_no_salary"}) == "replacement requested with --replace"


def test_get_of_a_legacy_set_id_is_not_found(client):
    s = gsim.add_legacy_set(client.sim, "Old set", [])
    with pytest.raises(NotFoundError):
        GUARDRAILS.get(client, s["guardrails_id"])


def test_delete_and_its_plan_note(client):
    gid = new(client, desired())
    assert GUARDRAILS.delete(client, gid) is True
    assert GUARDRAILS.list(client) == []
    assert "detaches it from every persona" in GUARDRAILS.delete_note(RemoteGuardrail(gid))


def test_the_plan_schema_describes_a_guardrail_change():
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).parents[1] / "schemas" / "plan.schema.json").read_text())
    change = {"action": "delete", "name": "acme_old", "replica_id": None, "reason": "not declared; prune is on",
              "before": {"guardrail_name": "acme_old"}, "after": None, "kind": "guardrails", "object_id": "g1",
              "notes": [GUARDRAILS.delete_note(RemoteGuardrail("g1"))],
              "references": [], "diff": [{"path": "guardrail_prompt", "before": "a", "after": "b"}]}
    doc = {"format_version": "1", "file": "f.yaml", "changes": [change], "pending": [], "unmanaged": [],
           "errors": [], "warnings": [], "missing_vars": [],
           "summary": {"create": 0, "rename": 0, "replace": 0, "delete": 1},
           "unmanaged_objects": [{"kind": "guardrails", "name": "acme_x", "id": "g2"}],
           "checked": [{"kind": "objectives", "name": "acme-screening"}]}
    jsonschema.validate(doc, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "changes": [{**change, "kind": "widgets"}]}, schema)


def test_export_adopts_by_id_and_plans_no_changes(client):
    gid = new(client, desired(tags=["a"], callback_url="https://hooks.example.com/g"))
    remote = GUARDRAILS.get(client, gid)
    warnings: list[str] = []
    entry = GUARDRAILS.export_entry(remote, remote.name, warnings)
    assert entry["guardrail_id"] == gid and entry["modality"] == "verbal" and warnings == []
    again = DesiredGuardrail(entry["name"], {k: v for k, v in entry.items() if k not in ("name", "guardrail_id")},
                             guardrail_id=gid)
    assert GUARDRAILS.in_place_changes(again, remote) == {}


def test_export_never_writes_a_callback_token(client):
    gid = new(client, desired(callback_url="https://hooks.example.com/g?token=s3cr3t"))
    warnings: list[str] = []
    entry = GUARDRAILS.export_entry(GUARDRAILS.get(client, gid), "acme_no_salary", warnings)
    assert "callback_url" not in entry and "s3cr3t" not in " ".join(warnings) and "${VAR}" in warnings[0]
