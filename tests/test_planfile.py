"""Saved plans (reconciler.engine.planfile), pure parts: the account they were made for (issue 24 #9)."""

from __future__ import annotations

from reconciler.api.client import TavusClient
from reconciler.engine import planfile
from reconciler.engine.models import Config, Settings
from reconciler.engine.planner import compute_plan
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica
from reconciler.views import render


def test_a_saved_plan_records_a_digest_of_the_key_and_refuses_another_account(tmp_path):
    config = Config("f.yaml", replicas=(DesiredReplica("acme-a", "r1"),), settings=Settings())
    remote = [RemoteReplica("r1", "acme-a", status="completed")]
    doc = render.plan_document(compute_plan(config, remote), file="f.yaml")
    mine = TavusClient("https://tavusapi.com", "key-of-account-one-111").account
    theirs = TavusClient("https://tavusapi.com", "key-of-account-two-222").account
    assert mine != theirs and mine.startswith("sha256:") and "111" not in mine
    saved = planfile.SavedPlan(file="f.yaml", source="", targets=(), replace=(), prune=False,
                               fingerprint=planfile.fingerprint(config, {"replicas": remote}), document=doc,
                               inputs=planfile.inputs_hash(config, "https://tavusapi.com"), account=mine)
    path = str(tmp_path / "p.plan")
    planfile.write(path, saved)
    back = planfile.read(path)
    assert back.account == mine
    assert planfile.differences(back, config, {"replicas": remote}, doc, "https://tavusapi.com", account=mine) == []
    assert planfile.differences(back, config, {"replicas": remote}, doc, "https://tavusapi.com", account=theirs) == [
        "it was made for another Tavus account (TAVUS_API_KEY names a different one now)"]


def _digest(items) -> str:
    import hashlib
    import json

    return "sha256:" + hashlib.sha256(json.dumps(items).encode()).hexdigest()


def test_the_fingerprint_of_replicas_and_personas_is_the_one_saved_before_the_kinds_hooks():
    """Plans saved by the version before issue 26's hooks still apply: the digests are byte-identical."""
    from reconciler.kinds.personas.models import RemotePersona

    config = Config("f.yaml", replicas=(DesiredReplica("acme-a", "r1"),), settings=Settings(name_prefix="acme-"))
    remote = [RemoteReplica("r1", "acme-a", status="completed", model_name="phoenix-3"),
              RemoteReplica("r2", "other", status="completed"),
              RemoteReplica("s1", "acme-stock", replica_type="system")]
    replicas = [["r1", "acme-a", "phoenix-3", False]]
    assert planfile.fingerprint(config, {"replicas": remote}) == _digest(replicas)
    assert planfile.fingerprint(config, {"replicas": remote, "personas": None}) == _digest(replicas)
    p = RemotePersona("p1", "acme-p", document={"persona_name": "acme-p"})
    both = [replicas, [["p1", '{"persona_name": "acme-p"}']]]
    assert planfile.fingerprint(config, {"replicas": remote, "personas": [p]}) == _digest(both)


def test_a_generic_kind_fingerprints_its_managed_objects_ids_and_names_and_its_entries_are_hashed():
    """A kind without its own hooks (documents): an object created or renamed since the plan makes it stale;
    a status moving on does not; a changed declared entry changes the inputs' hash."""
    from reconciler.kinds import kind

    documents = kind("documents")
    assert "documents" in config_with_document("u1").objects
    config = config_with_document("u1")
    listed = [documents_remote("d1", "acme-doc", "processing")]
    before = planfile.fingerprint(config, {"replicas": [], "documents": listed})
    assert planfile.fingerprint(config, {"replicas": [], "documents": [documents_remote("d1", "acme-doc", "ready")]}) \
        == before
    assert planfile.fingerprint(config, {"replicas": [], "documents": [documents_remote("d1", "acme-renamed")]}) \
        != before
    assert planfile.fingerprint(config, {"replicas": [], "documents": [*listed, documents_remote("d2", "acme-b")]}) \
        != before
    assert planfile.inputs_hash(config, "http://x") != planfile.inputs_hash(config_with_document("u2"), "http://x")
    assert planfile.inputs_hash(config, "http://x") == planfile.inputs_hash(config_with_document("u1"), "http://x")
    assert documents.noun == "document"


def config_with_document(url_path: str) -> Config:
    from reconciler.engine.config import parse_config

    return parse_config("version: 1\nreplicas: []\ndocuments:\n  - name: acme-doc\n"
                        f"    document_url: https://example.com/{url_path}.pdf\n", "f.yaml")


def documents_remote(oid: str, name: str, status: str = "ready"):
    from reconciler.kinds.documents.models import RemoteDocument

    return RemoteDocument(oid, name, status=status)


def test_another_teams_object_outside_the_scope_does_not_make_a_saved_plan_stale():
    from reconciler.engine.config import parse_config

    config = parse_config("version: 1\nsettings:\n  scope:\n    name_prefix: acme-\nreplicas: []\ndocuments:\n"
                          "  - name: acme-doc\n    document_url: https://example.com/a.pdf\n", "f.yaml")
    mine = [documents_remote("d1", "acme-doc")]
    before = planfile.fingerprint(config, {"replicas": [], "documents": mine})
    assert planfile.fingerprint(config, {"replicas": [], "documents": [*mine, documents_remote("d9", "beta-x")]}) \
        == before
    assert planfile.fingerprint(config, {"replicas": [], "documents": [*mine, documents_remote("d2", "acme-y")]}) \
        != before


def test_a_plan_another_version_made_says_so_when_it_is_refused(tmp_path):
    import dataclasses

    config = Config("f.yaml", replicas=(DesiredReplica("acme-a", "r1"),), settings=Settings())
    remote = [RemoteReplica("r1", "acme-a", status="completed")]
    doc = render.plan_document(compute_plan(config, remote), file="f.yaml")
    saved = planfile.SavedPlan(file="f.yaml", source="", targets=(), replace=(), prune=False,
                               fingerprint=planfile.fingerprint(config, {"replicas": remote}), document=doc,
                               inputs=planfile.inputs_hash(config, "http://x"), tool_version="0.0.1")
    path = str(tmp_path / "p.plan")
    planfile.write(path, saved)
    back = planfile.read(path)
    assert back.tool_version == "0.0.1"
    assert planfile.differences(back, config, {"replicas": remote}, doc, "http://x") == []  # still exact: fine
    stale = planfile.differences(back, config, {"replicas": []}, doc, "http://x")
    assert stale[0] == "the objects on the account changed since it was made"
    assert stale[-1].startswith("it was made by tavus-reconciler 0.0.1, this is ")
    assert planfile.differences(dataclasses.replace(back, tool_version=planfile.__version__), config,
                                {"replicas": []}, doc, "http://x") == stale[:-1]
