"""The offline policy rules of personas (issue 28; the rules' table is ``reconciler.engine.policy.RULES``):
``llm_base_urls`` and ``llm_keys_from_env``, checked on the file alone."""

from __future__ import annotations

from reconciler.engine.policy import Finding, Located, Rule, _finding, _matches


def check(rule: Rule, located: Located) -> list[Finding]:
    found: list[Finding] = []
    if rule.name == "llm_base_urls":
        for name, base_url, bwhere, _fields in located["personas"]:
            if base_url is not None and not _matches(base_url, rule.value):
                found.append(_finding(rule, bwhere, f"persona {name}: layers.llm.base_url {base_url} is not on "
                                      f"the allow-list ({rule.shown_value()})"))
    elif rule.name == "llm_keys_from_env" and rule.value:
        for name, _b, _bw, fields in located["personas"]:
            for key, as_var, where in fields:
                if not as_var:
                    found.append(_finding(rule, where, f"persona {name}: layers.llm.{key} must be written as "
                                          "${VAR} (an environment variable), not in the file"))
    return found
