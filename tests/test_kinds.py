"""The resource-kind interface, replicas as the first kind (issue 16)."""

from __future__ import annotations

import pytest

from reconciler.kinds import Kind, kind, kinds
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica


def test_replicas_are_the_first_kind_and_satisfy_the_interface():
    keys = [k.key for k in kinds()]
    assert keys[0] == "replicas" and keys.index("replicas") < keys.index("personas") and kind("replicas") is REPLICAS
    for attr in Kind.__annotations__:
        assert hasattr(REPLICAS, attr), attr
    assert kind("personas").noun == "persona"  # issue 17: after the replicas they reference
    with pytest.raises(KeyError):
        kind("conversations")


def test_identity_is_the_pin_else_the_name():
    assert REPLICAS.identity(DesiredReplica("a")) == ("name", "a")
    assert REPLICAS.identity(DesiredReplica("a", "r1")) == ("id", "r1")


@pytest.mark.parametrize("desired,remote,reason", [
    (DesiredReplica("a", model_name="phoenix-4"), RemoteReplica("r1", "a", model_name="phoenix-3"),
     "model_name changed: forces replacement"),
    (DesiredReplica("a"), RemoteReplica("r1", "a", model_name="phoenix-3"), None),  # undeclared: never compared
    (DesiredReplica("a", train_video_url="https://x/new.mp4"), RemoteReplica("r1", "a"), None),  # create-only
    (DesiredReplica("a"), RemoteReplica("r1", "a", status="error", error_message="no face"),
     "training failed: no face"),
])
def test_replace_rules(desired, remote, reason):
    assert REPLICAS.replace_reason(desired, remote, ()) == reason


def test_only_a_pinned_replicas_name_is_updated_in_place():
    assert REPLICAS.in_place_changes(DesiredReplica("b", "r1"), RemoteReplica("r1", "a")) == {
        "replica_name": ("a", "b")}
    assert REPLICAS.in_place_changes(DesiredReplica("b"), RemoteReplica("r1", "a")) == {}


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *a, **k: self.calls.append((name, a, k)) or "r-new"


def test_api_calls_go_through_the_one_client():
    client = Recorder()
    d = DesiredReplica("a", train_video_url="https://x/a.mp4", synthetic=True)
    assert REPLICAS.create(client, d, name="a~next~r1", known_ids={"r1"}) == "r-new"
    REPLICAS.update(client, "r1", {"replica_name": ("a", "b")})
    REPLICAS.delete(client, "r1")
    assert client.calls == [
        ("create_replica", ({"replica_name": "a~next~r1", "train_video_url": "https://x/a.mp4"},),
         {"known_ids": {"r1"}}),
        ("rename_replica", ("r1", "b"), {}),
        ("delete_replica", ("r1",), {})]
    with pytest.raises(ValueError, match="model_name"):
        REPLICAS.update(client, "r1", {"model_name": ("phoenix-3", "phoenix-4")})


# ------------------------------------------------------------------ issue 25: one vocabulary table per kind


def test_the_whole_client_speaks_the_face_and_pal_names_when_the_tables_are_switched(sim, tmp_path, monkeypatch):
    """Every path, id, name, type and filter field comes from the kind's one table: with ``REPLICAS.api = FACES``
    and ``PERSONAS.api = PALS`` the client runs plan, apply (creates, a pinned rename, a blue/green replace that
    re-points a persona, persona create/update/prune), wait, status, output and smoke against a simulator that
    speaks ONLY the new names on /v2/faces and /v2/pals (and refuses a legacy field there)."""
    from e2e import API_KEY, write

    from reconciler import exitcodes
    from reconciler.api.client import TavusClient
    from reconciler.engine.config import load_config
    from reconciler.kinds.personas import sim as sim_personas
    from reconciler.kinds.personas.kind import PALS, PERSONAS
    from reconciler.kinds.replicas.kind import FACES
    from reconciler.workflows import workflow

    monkeypatch.setattr(REPLICAS, "api", FACES)
    monkeypatch.setattr(PERSONAS, "api", PALS)
    sim.train_seconds = 0.2
    pinned = sim.add_replica(replica_name="acme-old-name", model_name="phoenix-4")["replica_id"]
    old = sim.add_replica(replica_name="acme-swap", model_name="phoenix-3")["replica_id"]
    sim_personas.add_persona(sim, persona_name="acme-stray", system_prompt="x")
    helper = sim_personas.add_persona(sim, persona_name="acme-helper", system_prompt="old", default_replica_id=old)

    def config(prompt: str):
        return load_config(write(tmp_path, f"""\
            version: 1
            settings:
              prune: true
              scope:
                name_prefix: acme-
              rollout:
                verify: smoke
            replicas:
              - name: acme-new
                synthetic: true
                train_video_url: {sim.video_url('n.mp4')}
              - name: acme-pinned
                replica_id: {pinned}
              - name: acme-swap
                model_name: phoenix-4
                synthetic: true
                train_video_url: {sim.video_url('s.mp4')}
            personas:
              - name: acme-host
                default_replica: acme-new
                system_prompt: {prompt}
              - name: acme-helper
                persona_id: {helper['persona_id']}
                default_replica: acme-swap
                system_prompt: {prompt}
            """))

    out: list[str] = []
    console = workflow.Console(out=lambda text="", nl=True: out.append(text), err=out.append)
    fast = workflow.WaitOptions(timeout=30, poll_interval=0.05)
    with TavusClient(sim.url, API_KEY, backoff_base=0.01, create_settle=0.5) as client:
        sim.reset_requests()
        done = workflow.apply(config("hello"), client, workflow.PlanOptions(), fast, console, shown="f.yaml",
                              skip_url_check=True)
        assert done.exit_code == exitcodes.OK, "\n".join(out)
        again = workflow.apply(config("hello again"), client, workflow.PlanOptions(), fast, console,
                               shown="f.yaml")  # persona updates in place (PATCH)
        assert again.exit_code == exitcodes.OK, "\n".join(out)
        assert workflow.status(config("hello again"), client, console, fmt="json").exit_code == exitcodes.OK
        assert workflow.output(config("hello again"), client, console, fmt="json").exit_code == exitcodes.OK
        assert workflow.smoke(config("hello again"), client, console).exit_code == exitcodes.OK
        assert workflow.plan(config("hello again"), client, workflow.PlanOptions(), console, file="f.yaml",
                             detailed_exitcode=True).exit_code == exitcodes.OK  # converged: no drift
    names = {r["replica_name"]: r for r in sim.replicas()}
    assert sorted(names) == ["acme-new", "acme-pinned", "acme-swap"] and names["acme-swap"]["replica_id"] != old
    personas = {p["persona_name"]: p for p in sim_personas.personas(sim)}
    assert sorted(personas) == ["acme-helper", "acme-host"]  # acme-stray pruned
    assert personas["acme-helper"]["default_replica_id"] == names["acme-swap"]["replica_id"]  # re-pointed
    assert {p["system_prompt"] for p in personas.values()} == {"hello again"}
    paths = {r["path"].split("/")[2] for r in sim.requests if r["path"].startswith("/v2/")}
    assert paths == {"faces", "pals", "conversations"}, paths
    assert not [r for r in sim.requests if r["status"] >= 400 and r["path"].startswith("/v2/")]
    creates = [r for r in sim.requests if r["method"] == "POST" and r["path"] == "/v2/faces"]
    assert len(creates) == 2  # acme-new and acme-swap's successor: never a duplicate


def test_the_simulator_refuses_a_legacy_field_on_the_new_paths(sim):
    import httpx
    from e2e import API_KEY

    with httpx.Client(base_url=sim.url, headers={"x-api-key": API_KEY}) as http:
        bad = http.post("/v2/faces", json={"replica_name": "x", "train_video_url": sim.video_url("a.mp4")})
        assert bad.status_code == 400 and "replica_name" in bad.text
        ok = http.post("/v2/faces", json={"face_name": "x", "train_video_url": sim.video_url("a.mp4")})
        assert ok.status_code == 200 and "face_id" in ok.json() and "replica_id" not in ok.json()
        listed = http.get("/v2/faces", params={"face_type": "user"}).json()["data"]
        assert [r["face_name"] for r in listed] == ["x"] and "replica_name" not in listed[0]
        assert http.get("/v2/replicas").json()["data"][0]["replica_name"] == "x"  # the legacy path: legacy names
        gone = http.get("/v2/faces/rnope")
        assert gone.status_code == 400 and gone.json() == {"error": "Invalid face_id"}
