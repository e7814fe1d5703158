"""reconciler.kinds.replicas.policy: the replicas' offline policy rules on located rows (the file-level proofs,
through the loader, are in tests/test_policy.py)."""

from __future__ import annotations

from reconciler.engine.policy import Located, Rule, check_offline
from reconciler.kinds.replicas.policy import check

# (name, model_name, model_where, synthetic, consent_video, consent_in_video, adopted, where)
ROWS = (("a", None, "f:3:5", False, True, False, False, "f:3:5"),
        ("b", "phoenix-3", "f:6:17", False, False, True, False, "f:5:5"),
        ("c", "gpt-4", "f:9:17", True, False, False, True, "f:8:5"),
        ("d", "phoenix-4", "f:12:17", True, False, False, False, "f:11:5"))


def test_allowed_models_skips_adopted_replicas_and_names_the_undeclared_model():
    rule = Rule("allowed_models", ("phoenix-4",), "error", "settings.policy", "f:1:1")
    assert [f.message for f in check(rule, Located({"replicas": ROWS}))] == [
        "f:3:5: policy allowed_models (settings.policy at f:1:1): a: model_name is not declared, so the server's "
        "default would be used; declare one of: phoenix-4",
        "f:6:17: policy allowed_models (settings.policy at f:1:1): b: model_name phoenix-3 is not allowed "
        "(allowed: phoenix-4)"]


def test_require_consent_video_only_for_human_replicas_and_only_when_on():
    on = Rule("require_consent_video", True, "warning", "team.yaml", "team.yaml:1:1")
    (finding,) = check(on, Located({"replicas": ROWS}))
    assert finding.level == "warning" and finding.message.endswith(
        "b: a human replica needs a consent_video_url (consent_in_training_video is not enough here)")
    assert check(Rule("require_consent_video", False, "error", "x", "x:1:1"), Located({"replicas": ROWS})) == []


def test_the_engine_dispatches_to_the_kind():
    rule = Rule("allowed_models", ("phoenix-*",), "error", "settings.policy", "f:1:1")
    assert check_offline([rule], Located({"replicas": ROWS})) == check(rule, Located({"replicas": ROWS}))
