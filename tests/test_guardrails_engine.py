"""Guardrails and objectives through the generic engine (reconciler/engine/objects.py) against the simulator's
handlers: plan, apply, a second plan with no changes, update in place, prune in scope, never a legacy set."""

from __future__ import annotations

import pytest
from test_guardrails_kind import TableClient

from reconciler.engine import objects
from reconciler.engine.kind import WithInPlaceUpdate, WithListing, WithReplace, has
from reconciler.engine.models import Action
from reconciler.kinds.guardrails import sim as gsim
from reconciler.kinds.guardrails.kind import GUARDRAILS
from reconciler.kinds.guardrails.models import DesiredGuardrail
from reconciler.kinds.objectives import sim as osim
from reconciler.kinds.objectives.kind import OBJECTIVES
from reconciler.kinds.objectives.models import DesiredObjectives


class Both(TableClient):
    """One account serving both kinds (the handlers share the fake simulator object)."""

    def __init__(self):
        super().__init__(None)

    def _do(self, method, path, query=None, body=None):
        self.handler = gsim.handle if path.startswith("/v2/guardrails") else osim.handle
        return super()._do(method, path, query, body)

    def list_objects(self, table):
        self.requests.append(("LISTING", table.path, {}))
        return super().list_objects(table)


KINDS = (GUARDRAILS, OBJECTIVES)
G = DesiredGuardrail("acme_no_salary", {"guardrail_prompt": "Never discuss salary.", "tags": ["hiring"]})
OBJ = DesiredObjectives("acme-screening", ({"objective_name": "ask", "objective_prompt": "Ask."},))


def listed(client):
    return {k.key: k.list(client) for k in KINDS}


def plan(client, desired, **kw):
    return objects.plan_objects(KINDS, desired, listed(client), **kw)


def test_the_abilities_the_engine_discovers():
    assert has(GUARDRAILS, WithInPlaceUpdate) and has(GUARDRAILS, WithReplace) and has(GUARDRAILS, WithListing)
    assert GUARDRAILS.listing.first_page == 0 and GUARDRAILS.listing.filters == {"legacy": "false"}
    assert has(OBJECTIVES, WithInPlaceUpdate) and not has(OBJECTIVES, WithListing)  # pages from 1, the default


def test_create_then_no_changes_then_update_in_place():
    client = Both()
    desired = {"guardrails": (G,), "objectives": (OBJ,)}
    first = plan(client, desired)
    assert [(c.kind, c.action) for c in first.changes] == [("guardrails", Action.CREATE),
                                                          ("objectives", Action.CREATE)]
    report = objects.apply_objects(first, KINDS, client, known_ids={})
    assert report.ok, report.outcomes
    assert plan(client, desired).changes == ()  # a second plan shows no changes
    changed = {"guardrails": (DesiredGuardrail(G.name, {**G.attributes, "guardrail_prompt": "No pay talk."}),),
               "objectives": (OBJ,)}
    upd = plan(client, changed)
    assert [(c.kind, c.action, c.diff) for c in upd.changes] == [
        ("guardrails", Action.UPDATE, (("guardrail_prompt", "Never discuss salary.", "No pay talk."),))]
    assert objects.apply_objects(upd, KINDS, client, known_ids={}).ok
    assert plan(client, changed).changes == ()


def test_prune_in_scope_deletes_undeclared_but_never_a_legacy_set():
    client = Both()
    gsim.add_guardrail(client.sim, guardrail_name="acme_old", guardrail_prompt="p")
    gsim.add_guardrail(client.sim, guardrail_name="other_team", guardrail_prompt="p")
    gsim.add_legacy_set(client.sim, "acme_set", [{"guardrail_name": "acme_x", "guardrail_prompt": "p"}])
    p = plan(client, {"guardrails": (G,)}, prune=True, in_scope=lambda n: n.startswith("acme_"))
    assert sorted((c.action.value, c.name) for c in p.changes) == [("create", "acme_no_salary"),
                                                                   ("delete", "acme_old")]
    assert objects.apply_objects(p, KINDS, client, known_ids={}).ok
    assert sorted(g["guardrail_name"] for g in gsim.guardrails(client.sim)) == ["acme_no_salary", "other_team"]
    assert [s["name"] for s in gsim.legacy_sets(client.sim)] == ["acme_set"]


def test_without_prune_undeclared_ones_are_unmanaged():
    client = Both()
    osim.add_objectives(client.sim, "acme-old", [{"objective_name": "a", "objective_prompt": "p"}])
    p = plan(client, {}, in_scope=lambda n: n.startswith("acme-"))
    assert p.changes == () and [(k, r.name) for k, r in p.unmanaged] == [("objectives", "acme-old")]


def test_a_create_whose_name_appeared_since_the_plan_is_not_made():
    client = Both()
    p = plan(client, {"guardrails": (G,)})
    gsim.add_guardrail(client.sim, guardrail_name=G.name, guardrail_prompt="someone else's")
    report = objects.apply_objects(p, KINDS, client, known_ids={"guardrails": ()})
    assert not report.ok and "appeared since the plan" in report.outcomes[0][2]
    assert len(gsim.guardrails(client.sim)) == 1  # never a duplicate


def test_a_delete_re_reads_the_name_first():
    client = Both()
    gid = gsim.add_guardrail(client.sim, guardrail_name="acme_old", guardrail_prompt="p")["uuid"]
    p = plan(client, {}, prune=True)
    GUARDRAILS.rename(client, gid, "renamed_meanwhile")
    report = objects.apply_objects(p, KINDS, client, known_ids={})
    assert not report.ok and "is now named 'renamed_meanwhile'" in report.outcomes[0][2]
    assert len(gsim.guardrails(client.sim)) == 1


def test_pinned_missing_is_an_error_and_replace_is_forced_only_by_replace():
    client = Both()
    p = plan(client, {"guardrails": (DesiredGuardrail("x", {"guardrail_prompt": "p"}, guardrail_id="gnone"),)})
    assert p.errors and "pinned guardrail gnone not found" in p.errors[0]
    objects.apply_objects(plan(client, {"guardrails": (G,)}), KINDS, client, known_ids={})
    forced = plan(client, {"guardrails": (G,)}, force_replace={G.name})
    assert [c.action for c in forced.changes] == [Action.REPLACE]


@pytest.mark.parametrize("kind", KINDS)
def test_listing_asks_the_documented_pages(kind):
    client = Both()
    kind.list(client)
    (query,) = [q for m, p, q in client.requests if m == "GET"]
    assert query["page"] == ("0" if kind is GUARDRAILS else "1")
    assert query.get("legacy") == ("false" if kind is GUARDRAILS else None)


def test_the_scope_prefix_is_spelled_the_guardrail_way():
    client = Both()
    gsim.add_guardrail(client.sim, guardrail_name="acme_old", guardrail_prompt="p")
    gsim.add_guardrail(client.sim, guardrail_name="acme-impossible", guardrail_prompt="p")  # seeded, not valid
    p = plan(client, {"guardrails": (G,)}, prune=True, in_scope=lambda n: n.startswith("acme-"), name_prefix="acme-")
    assert sorted((c.action.value, c.name) for c in p.changes) == [("create", "acme_no_salary"),
                                                                   ("delete", "acme_old")]
    objects.apply_objects(p, KINDS, client, known_ids={})
    again = plan(client, {"guardrails": (G,)}, in_scope=lambda n: n.startswith("acme-"), name_prefix="acme-")
    assert again.changes == ()  # found by its name in scope: never created twice


def test_status_and_export_spell_the_scope_the_guardrail_way():
    from reconciler.engine.models import Config, Settings
    from reconciler.workflows import objects_io

    client = Both()
    gsim.add_guardrail(client.sim, guardrail_name="acme_other", guardrail_prompt="Say ${X} as written")
    gsim.add_guardrail(client.sim, guardrail_name="beta_x", guardrail_prompt="p")
    gsim.add_legacy_set(client.sim, "acme_set", [])
    config = Config(path="f.yaml", replicas=(), settings=Settings(name_prefix="acme-"), objects={"guardrails": (G,)})
    rows = objects_io.status_rows(config, KINDS, listed(client))["guardrails"]
    assert [(r["name"], r["managed"]) for r in rows] == [("acme_no_salary", True), ("acme_other", False)]
    warnings: list[str] = []
    sections, _ = objects_io.exported(KINDS, listed(client), "acme-", warnings)
    (entry,) = sections["guardrails"]
    assert entry["name"] == "acme_other" and entry["guardrail_prompt"] == "Say $${X} as written"
