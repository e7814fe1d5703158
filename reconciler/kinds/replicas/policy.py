"""The offline policy rules of replicas (issue 28; the rules' table is ``reconciler.engine.policy.RULES``):
``allowed_models`` and ``require_consent_video``, checked on the file alone."""

from __future__ import annotations

from reconciler.engine.policy import Finding, Located, Rule, _finding, _matches


def check(rule: Rule, located: Located) -> list[Finding]:
    found: list[Finding] = []
    if rule.name == "allowed_models":
        for name, model, mwhere, _syn, _cv, _iv, adopted, where in located["replicas"]:
            if adopted:
                continue  # an adopted replica exists already: it is never created here
            if model is None:
                found.append(_finding(rule, where, f"{name}: model_name is not declared, so the server's "
                                      f"default would be used; declare one of: {rule.shown_value()}"))
            elif not _matches(model, rule.value):
                found.append(_finding(rule, mwhere, f"{name}: model_name {model} is not allowed (allowed: "
                                      f"{rule.shown_value()})"))
    elif rule.name == "require_consent_video" and rule.value:
        for name, _m, _mw, synthetic, consent_video, in_video, adopted, where in located["replicas"]:
            if not adopted and not synthetic and not consent_video:
                how = " (consent_in_training_video is not enough here)" if in_video else ""
                found.append(_finding(rule, where, f"{name}: a human replica needs a consent_video_url{how}"))
    return found
