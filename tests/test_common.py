"""What the renderers share (reconciler/views/common.py): redaction, escaping, the shared words, view hooks."""

from __future__ import annotations

from reconciler.engine.models import Action, Change, Plan
from reconciler.views import common

SIGNED = "https://b.s3.amazonaws.com/a.mp4?X-Amz-Signature=SECRETSIG"


def test_safe_redacts_urls_and_escapes_control_characters():
    shown = common._safe(f"see {SIGNED} \x1b[31mred")
    assert "SECRETSIG" not in shown and "\x1b" not in shown


def test_plain_cells_says_no_to_anything_safe_would_change():
    assert common._plain_cells([["acme-anna", "r1", "ready"]])
    assert not common._plain_cells([["a", SIGNED]]) and not common._plain_cells([["a\x1b"]])
    assert not common._plain_cells([["k=v"]])


def test_json_safe_escapes_bidi_and_c1_but_keeps_ascii_text():
    assert common._json_safe('{"a": "b"}') == '{"a": "b"}'
    assert common._json_safe('"\u202e\x85"') == '"\\u202e\\u0085"'


def test_redact_attrs_redacts_url_fields_deep():
    out = common._redact_attrs({"train_video_url": SIGNED, "n": [SIGNED], "x": 1})
    assert "SECRETSIG" not in str(out) and out["x"] == 1


def test_summary_line_names_updates_only_when_there_are_some():
    s = {"create": 1, "rename": 0, "replace": 2, "delete": 0}
    assert common._summary_line(s) == "Plan: 1 to create, 0 to rename, 2 to replace, 0 to delete."
    assert "3 to update in place" in common._summary_line({**s, "update": 3})


def test_uncompared_leaves_out_changes_that_say_it_themselves():
    c = Change(Action.UPDATE, "p", "r", kind="personas", uncomparable=("x",))
    plan = Plan(changes=(c,), uncompared=(("p", ("x",)), ("q", ("y",))))
    assert common._uncompared(plan) == [("q", ("y",))]


def test_view_hook_finds_a_kinds_hook_and_none_elsewhere():
    from reconciler.kinds.objectives.view import plan_rows

    assert common.view_hook("objectives", "plan_rows") is plan_rows
    assert common.view_hook("documents", "plan_rows") is None  # no view.py
    assert common.view_hook("objectives", "no_such_hook") is None
    assert common.view_hook("not-a-kind", "plan_rows") is None
