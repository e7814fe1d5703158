"""Issue 17 (API layer): persona and conversation calls of the client, over real HTTP against the simulator
and against misbehaving fakes; RemotePersona; secrets in layers."""

from __future__ import annotations

import json
import logging
import threading

import httpx
import pytest
from e2e import API_KEY

from reconciler.api.client import TavusClient
from reconciler.api.redact import scrub
from reconciler.engine.jsonpatch import diff
from reconciler.errors import (
    BadRequestError,
    CreateOutcomeUnknownError,
    InvalidPatchError,
    NotFoundError,
)
from reconciler.kinds.personas import sim as sim_personas
from reconciler.kinds.personas.models import MASK, RemotePersona, register_layer_secrets


def client(sim, **kw) -> TavusClient:
    opts = dict(backoff_base=0.01, backoff_max=0.05, create_settle=0.3, retry_budget=10, timeout=5)
    opts.update(kw)
    return TavusClient(sim.url, API_KEY, **opts)


PERSONA = {"persona_name": "acme-interviewer", "system_prompt": "You interview.", "pipeline_mode": "full",
           "default_replica_id": "r9fa0878977", "document_tags": ["hiring"],
           "layers": {"llm": {"model": "tavus-gpt-4o", "speculative_inference": True},
                      "conversational_flow": {"turn_taking_patience": "high"}}}


def user_personas(sim, name=None):
    return [p for p in sim_personas.personas(sim) if name is None or p.get("persona_name") == name]


# ------------------------------------------------------------------ CRUD over HTTP


def test_create_get_list_update_delete(sim):
    with client(sim) as c:
        pid = c.create_persona(PERSONA)
        got = c.get_persona(pid)
        assert got.persona_id == pid and got.name == "acme-interviewer" and got.default_replica_id == "r9fa0878977"
        assert got.document_tags == ("hiring",) and got.layers["llm"]["model"] == "tavus-gpt-4o"
        assert got.present == {"pipeline_mode", "layers.conversational_flow"}  # objectives/guardrails: absent
        assert [p.persona_id for p in c.list_personas()] == [pid]  # user only: stock personas not in scope
        stock = c.list_personas(persona_type="system")
        assert stock and all(p.persona_type == "system" for p in stock)

        ops = diff(got.document, {"system_prompt": "You interview kindly.", "layers": {"llm": {"model": "m2"}}})
        assert {o["op"] for o in ops} == {"replace"}
        assert c.update_persona(pid, ops) is True
        assert c.update_persona(pid, ops) is False  # 304 "No changes were made": success, nothing changed
        assert c.update_persona(pid, []) is False
        after = c.get_persona(pid)
        assert after.system_prompt == "You interview kindly." and after.layers["llm"] == {
            "model": "m2", "speculative_inference": True}  # the undeclared sibling is untouched
        with pytest.raises(InvalidPatchError, match="Invalid JSON patch format"):
            c.update_persona(pid, [{"op": "remove", "path": "/no/such"}])
        assert c.delete_persona(pid) is True
        assert c.delete_persona(pid) is False  # 400 "Invalid persona_id": already gone
        with pytest.raises(NotFoundError):
            c.get_persona(pid)
    assert user_personas(sim) == []


def test_stock_personas_are_read_only(sim):
    with client(sim) as c:
        stock = c.list_personas(persona_type="system")[0]
        with pytest.raises(BadRequestError):
            c.update_persona(stock.persona_id, [{"op": "replace", "path": "/persona_name", "value": "x"}])


def test_listing_pages_consistently(sim):
    for i in range(25):
        sim_personas.add_persona(sim, persona_name=f"p{i}", system_prompt="s")
    with client(sim, page_size=10) as c:
        listed = c.list_personas()
    assert sorted(p.name for p in listed) == sorted(f"p{i}" for i in range(25))
    pages = [r for r in sim.requests if r["path"] == "/v2/personas" and r["method"] == "GET"]
    assert len(pages) == 3 and all(r["query"]["persona_type"] == "user" for r in pages)


def test_uncertain_fields_not_returned_are_told_apart_from_absent(sim):
    sim_personas.configure(sim, hide_uncertain=True)
    with client(sim) as c:
        got = c.get_persona(c.create_persona(PERSONA))
    assert got.present == frozenset() and got.pipeline_mode is None
    assert not got.readable("pipeline_mode") and not got.readable("layers.conversational_flow.turn_taking_patience")
    assert got.readable("layers.llm.model") and got.readable("objectives_id") is False
    assert not got.readable("layers.llm.api_key")


def test_faults_apply_to_persona_routes(sim):
    sim.set_faults(fail_next=2)
    with client(sim) as c:
        assert c.list_personas() == []
    assert [r["status"] for r in sim.requests if r["path"] == "/v2/personas"] == [503, 503, 200]


# ------------------------------------------------------------------ never a duplicate create


def test_a_lost_create_answer_is_adopted_not_repeated(sim):
    old = sim_personas.add_persona(sim, persona_name="acme-interviewer", system_prompt="old")
    sim.set_faults(drop_create_response=1.0)
    with client(sim) as c:
        pid = c.create_persona(PERSONA, known_ids={old["persona_id"]})
    same_name = user_personas(sim, "acme-interviewer")
    assert len(same_name) == 2 and pid in {p["persona_id"] for p in same_name} and pid != old["persona_id"]
    assert sum(r["method"] == "POST" for r in sim.requests) == 1


def test_a_504_whose_persona_lands_later_is_adopted(sim):
    sim.set_faults(gateway_504=1.0)
    with client(sim, create_settle=3.0) as c:
        pid = c.create_persona(PERSONA)
    assert [p["persona_id"] for p in user_personas(sim)] == [pid]


def test_unverifiable_lost_create_is_outcome_unknown_never_reposted(sim):
    sim.set_faults(drop_create_response=1.0, list_error=1.0)
    with client(sim, max_attempts=3) as c, pytest.raises(CreateOutcomeUnknownError, match="persona"):
        c.create_persona(PERSONA)
    assert sum(r["method"] == "POST" for r in sim.requests) == 1


def test_parallel_lost_creates_never_duplicate(sim):
    sim.set_faults(drop_create_response=0.5, fault_seed=7)
    names = [f"par-{i}" for i in range(8)]
    with client(sim, create_settle=0.5) as c:
        threads = [threading.Thread(target=c.create_persona, args=({**PERSONA, "persona_name": n},)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(p["persona_name"] for p in user_personas(sim)) == sorted(names)


# ------------------------------------------------------------------ conversations


def test_test_mode_conversation_is_ended_and_checks_the_replica(sim):
    sim.add_replica(replica_id="rtraining01", replica_name="t", status="started")
    with client(sim) as c:
        pid = c.create_persona(PERSONA)
        conv = c.create_conversation(persona_id=pid, test_mode=True)
        assert conv.status == "ended" and conv.conversation_url
        with pytest.raises(BadRequestError, match="not ready"):
            c.create_conversation(persona_id=pid, replica_id="rtraining01", test_mode=True)
        with pytest.raises(BadRequestError, match="Invalid replica_id") as e:  # a bad reference, not "gone"
            c.create_conversation(replica_id="rnope", test_mode=True)
        assert not isinstance(e.value, NotFoundError)
        sim_personas.configure(sim, reject_test_mode={pid})
        with pytest.raises(BadRequestError, match="rejected"):
            c.create_conversation(persona_id=pid, test_mode=True)
        live = c.create_conversation(replica_id="r9fa0878977", name="demo")
        assert live.status == "active" and live.conversation_name == "demo"
        c.end_conversation(live.conversation_id)
        assert sim_personas.store(sim).conversations[live.conversation_id]["status"] == "ended"
        c.delete_conversation(live.conversation_id)


def test_a_test_mode_conversation_a_server_left_active_is_ended_at_once():
    """smoke and a rollout's verification must never leave a live (joined, billed) conversation behind, also with a
    server that ignores test_mode."""
    from fakeserver import FakeServer

    def handler(method, path, query, body):
        if method == "POST" and path == "/v2/conversations":
            return 200, {"conversation_id": "c1", "conversation_url": "https://x/c1", "status": "active"}
        return 200, {"message": "conversation ended"}

    with FakeServer(handler) as server, TavusClient(server.url, API_KEY, backoff_base=0.01) as c:
        c.create_conversation(replica_id="r1", test_mode=True)
        assert [(m, p) for m, p, _ in server.requests] == [("POST", "/v2/conversations"),
                                                           ("POST", "/v2/conversations/c1/end")]
        server.requests.clear()
        c.create_conversation(replica_id="r1")  # a real one is the caller's to end
        assert [(m, p) for m, p, _ in server.requests] == [("POST", "/v2/conversations")]


def test_a_lost_live_conversation_answer_is_not_repeated(sim):
    sim.set_faults(drop_create_response=1.0)
    with client(sim) as c, pytest.raises(CreateOutcomeUnknownError, match="conversation"):
        c.create_conversation(replica_id="r9fa0878977")
    assert sum(r["method"] == "POST" for r in sim.requests) == 1


# ------------------------------------------------------------------ secrets


def test_echoed_api_keys_are_masked_in_model_repr_and_every_output(sim):
    key_llm, key_tts = "sk-live-llm-key-abcdef123456", "el-tts-key-zyxw98765"
    with client(sim) as c:
        pid = c.create_persona({**PERSONA, "layers": {"llm": {"model": "m", "api_key": key_llm},
                                                      "tts": {"tts_engine": "cartesia", "api_key": key_tts}}})
        got = c.get_persona(pid)  # echoed in clear by this reading of the docs
        assert got.document["layers"]["llm"]["api_key"] == MASK and got.layers["tts"]["api_key"] == MASK
        for text in (repr(got), str(got), json.dumps(got.document)):
            assert key_llm not in text and key_tts not in text
        assert key_llm not in scrub(f"server said {key_llm}")  # registered on sight
        assert got.secret_matches("layers.llm.api_key", key_llm) is True
        assert got.secret_matches("layers.llm.api_key", "other") is False
        assert not got.readable("layers.tts.api_key")
        sim_personas.configure(sim, mask_api_keys=True)
        masked = c.get_persona(pid)
        assert masked.secret_matches("layers.llm.api_key", key_llm) is None  # masked: cannot be compared
        assert masked.document["layers"]["llm"]["api_key"] == MASK


def test_register_layer_secrets():
    key = "sk-desired-only-key-0987"
    assert register_layer_secrets({"llm": {"api_key": key}, "tts": {"model": "x"}}) == ["layers.llm.api_key"]
    assert key not in scrub(f"x {key} y")


def test_an_echoed_key_never_reaches_an_exception_or_a_log(caplog):
    key = "sk-echoed-in-error-55aa66bb"
    register_layer_secrets({"llm": {"api_key": key}})

    def handler(request: httpx.Request) -> httpx.Response:
        sent = request.content.decode()
        if request.method == "PATCH":
            return httpx.Response(422, json={"message": f"Invalid JSON patch format: {sent}"})
        return httpx.Response(400, json={"error": f"bad layers {sent}"})

    caplog.set_level(logging.DEBUG)
    with TavusClient("http://127.0.0.1:9", API_KEY, transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(BadRequestError) as created:
            c.create_persona({"persona_name": "x", "system_prompt": "s", "layers": {"llm": {"api_key": key}}})
        with pytest.raises(InvalidPatchError) as patched:
            c.update_persona("p1", [{"op": "replace", "path": "/layers/llm/api_key", "value": key}])
    for text in (str(created.value), str(patched.value), caplog.text):
        assert key not in text
    assert "[REDACTED]" in str(created.value) or "REDACTED" in str(created.value)


def test_get_tolerates_a_bare_object_and_refuses_a_malformed_one():
    answers = iter([{"persona_id": "p1", "persona_name": "bare"}, {"data": [{"persona_id": "p2"}]},
                    {"data": []}, {"data": [{"name": "no id"}]}])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    from reconciler.errors import MalformedResponseError

    with TavusClient("http://127.0.0.1:9", API_KEY, transport=httpx.MockTransport(handler)) as c:
        assert c.get_persona("p1").name == "bare"
        assert c.get_persona("p2").persona_id == "p2"
        with pytest.raises(MalformedResponseError):
            c.get_persona("p3")
        with pytest.raises(MalformedResponseError):
            c.get_persona("p4")


def test_remote_persona_is_tolerant():
    p = RemotePersona.from_api({"persona_id": "p1", "layers": "oops", "document_tags": "x", "objectives_id": None})
    assert p.layers is None and p.document_tags is None and p.name is None and p.present == {"objectives_id"}
    with pytest.raises((KeyError, TypeError)):
        RemotePersona.from_api({"persona_name": "x"})


def test_a_check_against_a_server_that_ignores_test_mode_ends_what_it_created_and_reports_a_lost_answer():
    """Issue 24 (Low): the first attempt's answer is lost (a 502: it may have started a conversation), the retry
    answers "active" (test_mode ignored): that one is ended, and both are reported, never silent; an end that
    fails says the conversation may be live."""
    from fakeserver import FakeServer

    posts = []

    def handler(method, path, query, body):
        if method == "POST" and path == "/v2/conversations":
            posts.append(1)
            if len(posts) == 1:
                return 502, {"message": "bad gateway"}
            return 200, {"conversation_id": f"c{len(posts)}", "status": "active"}
        return (500, {"message": "down"}) if path.startswith("/v2/conversations/c3") else (200, {})

    with FakeServer(handler) as server, TavusClient(server.url, API_KEY, backoff_base=0.01, max_attempts=2) as c:
        conv = c.create_conversation(replica_id="r1", test_mode=True, name="smoke p")
        assert (conv.lost_answers, conv.ended_by_us, conv.end_error) == (1, True, None)
        assert ("/v2/conversations/c2/end" in [p for m, p, _ in server.requests])
        notes = conv.notes()
        assert "conversation c2 was live and has been ended" in notes
        assert "1 earlier attempt(s) lost their answer" in notes and "'smoke p'" in notes and "may be live" in notes
        failing = c.create_conversation(replica_id="r1", test_mode=True)
        assert failing.end_error and "may be live and billed" in failing.notes()

# ------------------------------------------------------------------ issue 25: editor drafts, conferencing


def test_a_draft_is_a_409_editor_draft_error_and_force_discards_it(sim):
    from reconciler.errors import EditorDraftError

    with client(sim) as c:
        pid = c.create_persona(PERSONA)
        sim_personas.leave_draft(sim, pid)
        op = [{"op": "replace", "path": "/system_prompt", "value": "v2"}]
        with pytest.raises(EditorDraftError, match="unpublished changes in the Tavus editor"):
            c.update_persona(pid, op)
        assert user_personas(sim)[0]["system_prompt"] == "You interview."  # nothing changed
        discarded: list[str] = []
        assert c.update_persona(pid, op, force=True, discarded=discarded) is True
        assert discarded == [pid] and user_personas(sim)[0]["system_prompt"] == "v2"
        assert c.update_persona(pid, [{"op": "replace", "path": "/system_prompt", "value": "v3"}]) is True
    patches = [r for r in sim.requests if r["method"] == "PATCH"]
    assert [r["query"] for r in patches] == [{}, {"force": "true"}, {}]


def test_new_persona_fields_are_kept_and_returned_by_the_simulator(sim):
    fields = {"guardrail_ids": ["g1"], "tool_ids": ["t1"], "greeting": "Hi", "pipeline_mode": "speech-to-speech",
              "layers": {"transport": {"transport_type": "livekit"}, "future_layer": {"x": 1}}}
    with client(sim) as c:
        pid = c.create_persona({**PERSONA, **fields})
        doc = c.get_persona(pid).document
    assert {k: doc[k] for k in fields} == fields


def test_conferencing_is_patched_in_a_request_of_its_own():
    from reconciler.kinds.personas.kind import PERSONAS

    class Fake:
        def __init__(self):
            self.sent = []

        def update_persona(self, pid, ops, **kw):
            self.sent.append((ops, kw))
            return True

    fake = Fake()
    ops = [{"op": "replace", "path": "/system_prompt", "value": "p"},
           {"op": "add", "path": "/layers/conferencing", "value": {"enabled": True}},
           {"op": "replace", "path": "/layers/llm/model", "value": "m"}]
    assert PERSONAS.update(fake, "p1", ops, force=True, discarded=[]) is True
    assert [o for o, _ in fake.sent] == [[ops[0], ops[2]], [ops[1]]]
    assert all(kw["force"] is True for _, kw in fake.sent)
    fake.sent.clear()  # a whole /layers set with conferencing inside: split too
    PERSONAS.update(fake, "p1", [{"op": "add", "path": "/layers", "value": {"llm": {"model": "m"},
                                                                          "conferencing": {"a": 1}}}])
    assert [o for o, _ in fake.sent] == [[{"op": "add", "path": "/layers", "value": {"llm": {"model": "m"}}}],
                                         [{"op": "add", "path": "/layers/conferencing", "value": {"a": 1}}]]
    assert fake.sent[0][1] == {}  # not forced unless asked
