"""A persona wired to documents (issue 27) through the real planner and executor: names resolved to ids, a
document created by the same apply bound at apply time, one PATCH for changed references, never a prune of
what a persona cites, documents planned before the personas that cite them."""

from __future__ import annotations

from reconciler.engine.executor import execute
from reconciler.engine.models import Action, Config, Plan, Settings
from reconciler.engine.planner import compute_plan
from reconciler.kinds.documents.models import DesiredDocument, RemoteDocument
from reconciler.kinds.personas.models import DesiredPersona, RemotePersona

URL = "https://docs.example.com/hb.pdf"


def config(personas, documents, prefix="acme-"):
    return Config(path="f.yaml", replicas=(), personas=tuple(personas), settings=Settings(name_prefix=prefix),
                  objects={"documents": tuple(documents)}, manages_replicas=False)


def persona(docs=("acme-hb",), **attrs):
    return DesiredPersona("acme-p", {"system_prompt": "x", "documents": list(docs), **attrs},
                          cited={"documents": tuple(docs)} if docs else {})


def remote_persona(**fields):
    return RemotePersona.from_api({"persona_type": "user", "persona_id": "p1", "persona_name": "acme-p",
                                   "system_prompt": "x", **fields})


def doc(name="acme-hb", did="d1", **kw):
    return RemoteDocument(document_id=did, name=name, status="ready", document_url=URL, **kw)


def test_a_document_created_by_the_same_plan_is_known_after_apply():
    plan = compute_plan(config([persona()], [DesiredDocument("acme-hb", URL)]), [], personas=[],
                        objects={"documents": []})
    assert plan.errors == ()
    kinds = [(c.kind, c.action) for c in plan.changes]
    assert kinds == [("documents", Action.CREATE), ("personas", Action.CREATE)]
    p = plan.changes[1]
    assert p.after["document_ids"] == ["(known after apply: document acme-hb)"] and "documents" not in p.after
    assert p.refs == (("documents", "documents", "acme-hb", None),)


def test_an_existing_document_is_cited_by_id_and_a_change_is_one_patch():
    r = remote_persona(document_ids=["d0"])
    plan = compute_plan(config([persona(("acme-hb", "acme-faq"))],
                               [DesiredDocument("acme-hb", URL), DesiredDocument("acme-faq", URL)]),
                        [], personas=[r], objects={"documents": [doc(), doc("acme-faq", "d2")]})
    (c,) = plan.changes
    assert c.action is Action.UPDATE and c.patch == ({"op": "replace", "path": "/document_ids",
                                                       "value": ["d1", "d2"]},)
    same = compute_plan(config([persona(("acme-hb", "acme-faq"))],
                               [DesiredDocument("acme-hb", URL), DesiredDocument("acme-faq", URL)]),
                        [], personas=[remote_persona(document_ids=["d2", "d1"])],
                        objects={"documents": [doc(), doc("acme-faq", "d2")]})
    assert same.changes == ()  # the same ids in another order: no change


def test_a_name_that_is_nowhere_is_a_plan_error():
    plan = compute_plan(config([persona()], [DesiredDocument("acme-hb", URL)]), [], personas=[],
                        objects={"documents": []}, targets={"acme-p"})
    assert plan.errors == ("persona acme-p: documents 'acme-hb' does not exist and is not created by this plan "
                           "(declare it under documents:, or add it to --target)",)


def test_never_prune_what_a_persona_cites_after_the_plan():
    kept = doc("acme-old", "d9")
    r = remote_persona(document_ids=["d9"])
    d = persona(docs=(), document_ids=["d9"])  # cited by id: not managed by name, still protected
    plan = compute_plan(config([d], []), [], personas=[r], objects={"documents": [kept]}, prune=True)
    assert plan.changes == () and any("references it: kept, not pruned" in w for w in plan.warnings), plan.warnings
    assert plan.unmanaged_objects == (("documents", kept),)
    moved = compute_plan(config([persona(docs=(), document_ids=[])], []), [], personas=[r],
                         objects={"documents": [kept]}, prune=True)
    assert [(c.kind, c.action) for c in moved.changes] == [("personas", Action.UPDATE), ("documents", Action.DELETE)]


class Client:
    """The one client's calls the executor makes here, recording the order."""

    def __init__(self):
        self.calls = []

    def list_objects(self, listing):
        return []

    def create_object(self, listing, body, *, known_ids=()):
        self.calls.append(("create document", body["document_name"]))
        return "d7"

    def list_personas(self):
        return []

    def create_persona(self, payload, *, known_ids=()):
        self.calls.append(("create persona", payload["document_ids"]))
        return "p7"


def test_apply_creates_the_document_first_and_binds_its_id(monkeypatch):
    from reconciler.kinds.documents import kind

    monkeypatch.setattr(kind, "_wire", lambda: "documents-listing")
    plan = compute_plan(config([persona()], [DesiredDocument("acme-hb", URL)]), [], personas=[],
                        objects={"documents": []})
    client = Client()
    report = execute(Plan(changes=plan.changes), client, known_ids=(), emit=lambda line: None,
                     known_objects={"documents": set()})
    assert client.calls == [("create document", "acme-hb"), ("create persona", ["d7"])], report.outcomes
