"""The two modules named common: workflows/common.py (the listings every workflow starts from, the rollout
jitter) and views/common.py (what the renderers share: redaction, escaping, the shared words, view hooks)."""

from __future__ import annotations

import pytest

from reconciler.engine.config import load_config
from reconciler.engine.models import Action, Change, Plan
from reconciler.views import common as vcommon
from reconciler.workflows import common


def test_the_replicas_and_the_personas_are_listed_at_the_same_time(tmp_path):
    """Issue 29: a plan waits for its slowest listing, not the sum (each listing here waits for the other to
    have started: run one after the other, the barrier would break)."""
    import threading

    from reconciler.errors import ApiError
    from reconciler.kinds.personas.models import RemotePersona
    from reconciler.kinds.replicas.models import RemoteReplica

    f = tmp_path / "both.yaml"
    f.write_text("version: 1\nreplicas:\n  - name: a\n    train_video_url: https://v.example.com/a.mp4\n"
                 "    synthetic: true\npersonas:\n  - name: p\n    system_prompt: hi\n")
    config = load_config(str(f))
    both = threading.Barrier(2, timeout=20)

    class Both:
        fail = None

        def list_replicas(self, **kw):
            both.wait()
            if self.fail == "replicas":
                raise ApiError("replicas down")
            return [RemoteReplica("r1", "a", status="completed")]

        def list_personas(self, **kw):
            both.wait()
            if self.fail:
                raise ApiError("personas down")
            return [RemotePersona("p1", name="p")]

    remote, personas = common.inventories(Both(), config)
    assert [r.replica_id for r in remote] == ["r1"] and [p.persona_id for p in personas] == ["p1"]
    client = Both()
    client.fail = "replicas"
    both.reset()
    with pytest.raises(ApiError, match="replicas down"):  # the replicas' error wins, as when run in turn
        common.inventories(client, config)
    client.fail = "personas"
    both.reset()
    with pytest.raises(ApiError, match="personas down"):
        common.inventories(client, config)


def test_rollout_jitter_defaults_to_3s_is_clamped_and_refuses_a_non_number():
    from reconciler.errors import UsageError

    assert common.rollout_jitter({}) == 3.0 and common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": " "}) == 3.0
    assert common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": "0.5"}) == 0.5
    assert common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": "-4"}) == 0.0
    assert common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": "9999"}) == 60.0
    with pytest.raises(UsageError, match="must be a number of seconds"):
        common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": "soon"})


def test_a_file_without_replicas_costs_no_replica_request(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("version: 1\npersonas:\n  - name: p\n    system_prompt: hi\n")

    class NoReplicas:
        def list_replicas(self, **kw):
            raise AssertionError("a file without replicas: does not manage them")

    assert common.inventory(NoReplicas(), load_config(str(f))) == []



SIGNED = "https://b.s3.amazonaws.com/a.mp4?X-Amz-Signature=SECRETSIG"


def test_safe_redacts_urls_and_escapes_control_characters():
    shown = vcommon._safe(f"see {SIGNED} \x1b[31mred")
    assert "SECRETSIG" not in shown and "\x1b" not in shown


def test_plain_cells_says_no_to_anything_safe_would_change():
    assert vcommon._plain_cells([["acme-anna", "r1", "ready"]])
    assert not vcommon._plain_cells([["a", SIGNED]]) and not vcommon._plain_cells([["a\x1b"]])
    assert not vcommon._plain_cells([["k=v"]])


def test_json_safe_escapes_bidi_and_c1_but_keeps_ascii_text():
    assert vcommon._json_safe('{"a": "b"}') == '{"a": "b"}'
    assert vcommon._json_safe('"\u202e\x85"') == '"\\u202e\\u0085"'


def test_redact_attrs_redacts_url_fields_deep():
    out = vcommon._redact_attrs({"train_video_url": SIGNED, "n": [SIGNED], "x": 1})
    assert "SECRETSIG" not in str(out) and out["x"] == 1


def test_summary_line_names_updates_only_when_there_are_some():
    s = {"create": 1, "rename": 0, "replace": 2, "delete": 0}
    assert vcommon._summary_line(s) == "Plan: 1 to create, 0 to rename, 2 to replace, 0 to delete."
    assert "3 to update in place" in vcommon._summary_line({**s, "update": 3})


def test_uncompared_leaves_out_changes_that_say_it_themselves():
    c = Change(Action.UPDATE, "p", "r", kind="personas", uncomparable=("x",))
    plan = Plan(changes=(c,), uncompared=(("p", ("x",)), ("q", ("y",))))
    assert vcommon._uncompared(plan) == [("q", ("y",))]


def test_view_hook_finds_a_kinds_hook_and_none_elsewhere():
    from reconciler.kinds.objectives.view import plan_rows

    assert vcommon.view_hook("objectives", "plan_rows") is plan_rows
    assert vcommon.view_hook("documents", "plan_rows") is None  # no view.py
    assert vcommon.view_hook("objectives", "no_such_hook") is None
    assert vcommon.view_hook("not-a-kind", "plan_rows") is None


_SECRET = "s3cr3t-json-piece-key"


@pytest.fixture
def a_secret(monkeypatch):
    from reconciler.api import redact

    monkeypatch.setattr(redact, "_SECRETS", {*redact._SECRETS, _SECRET})


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(max(c, 0), len(text)) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


def test_json_safe_writer_masks_a_secret_split_across_pieces(a_secret):
    """Issue 29: plan JSON is written in pieces; a secret cut in two by a piece border is still masked."""
    text = f'{{"name": "a{_SECRET}b", "bidi": "\u202e", "c1": "\x85"}}\n'
    for cut in range(len(text) + 1):
        out: list[str] = []
        writer = vcommon.JsonSafeWriter(out.append)
        for piece in _split(text, [cut]):
            writer(piece)
        writer.close()
        assert "".join(out) == vcommon._json_safe(text), cut
        assert _SECRET not in "".join(out)


def test_json_safe_writer_is_json_safe_of_the_whole_for_any_pieces(a_secret):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from(["a", "s", "3", "-", "\u202e", "\x85", "\x7f", "é", "\U0001f600", _SECRET])

    @settings(max_examples=200, deadline=None)
    @given(st.lists(alphabet, max_size=12).map("".join), st.lists(st.integers(0, 200), max_size=5))
    def check(text, cuts):
        out: list[str] = []
        writer = vcommon.JsonSafeWriter(out.append)
        for piece in _split(text, cuts):
            writer(piece)
        writer.close()
        assert "".join(out) == vcommon._json_safe(text)

    check()


def test_validate_counts_every_kind_the_file_declares(tmp_path):
    assert [vcommon.counted(n, w) for n, w in ((1, "replica"), (0, "replica"), (2, "pronunciation dictionary"),
                                               (3, "objectives set"), (2, "day"))] == [
        "1 replica", "0 replicas", "2 pronunciation dictionaries", "3 objectives sets", "2 days"]
    f = tmp_path / "f.yaml"
    f.write_text("version: 1\nguardrails:\n  - name: acme_a\n    guardrail_prompt: Never.\n"
                 "  - name: acme_b\n    guardrail_prompt: Never.\n")
    assert vcommon.declared(load_config(f)) == "0 replicas, 2 guardrails"
    assert vcommon.declared(load_config("examples/replicas.yaml", environ={})) == \
        "4 replicas, 1 persona, 1 document, 1 guardrail"
