"""Saved plans (reconciler.engine.planfile), pure parts: the account they were made for (issue 24 #9)."""

from __future__ import annotations

from reconciler.api.client import TavusClient
from reconciler.engine import planfile
from reconciler.engine.models import Config, Settings
from reconciler.engine.planner import compute_plan
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica
from reconciler.views import render


def test_a_saved_plan_records_a_digest_of_the_key_and_refuses_another_account(tmp_path):
    config = Config("f.yaml", (DesiredReplica("acme-a", "r1"),), Settings())
    remote = [RemoteReplica("r1", "acme-a", status="completed")]
    doc = render.plan_document(compute_plan(config, remote), file="f.yaml")
    mine = TavusClient("https://tavusapi.com", "key-of-account-one-111").account
    theirs = TavusClient("https://tavusapi.com", "key-of-account-two-222").account
    assert mine != theirs and mine.startswith("sha256:") and "111" not in mine
    saved = planfile.SavedPlan(file="f.yaml", source="", targets=(), replace=(), prune=False,
                               fingerprint=planfile.fingerprint(config, remote), document=doc,
                               inputs=planfile.inputs_hash(config, "https://tavusapi.com"), account=mine)
    path = str(tmp_path / "p.plan")
    planfile.write(path, saved)
    back = planfile.read(path)
    assert back.account == mine
    assert planfile.differences(back, config, remote, doc, "https://tavusapi.com", account=mine) == []
    assert planfile.differences(back, config, remote, doc, "https://tavusapi.com", account=theirs) == [
        "it was made for another Tavus account (TAVUS_API_KEY names a different one now)"]
