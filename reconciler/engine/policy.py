"""Safety rails and policy (issue 28): what a plan may do, checked in ``plan`` (so the PR comment shows it) and
again in ``apply``, before any write.

Three parts, all pure (no I/O, clock or environment: the CLI passes the environment in where a rule needs it):

- **the prune scope** (``settings.prune`` needs ``settings.scope``: a ``name_prefix``, or ``whole_account:
  true``; the file's rule is in ``reconciler.engine.validation``, the ``--prune`` flag's here);
- **the mass-change guard**, on by default, like octoDNS's ``MAX_SAFE_DELETE_PCENT`` / ``UnsafePlan``: a plan
  that deletes or replaces more than ``max_percent`` (30) of the managed objects of one kind, and at least
  ``min_changes`` (3) of them, is refused unless ``--allow-mass-change`` is given (a saved plan records it);
- **policy rules**: ``settings.policy`` in the file and ``--policy FILE`` (the same keys) from outside it. Each
  rule is ``NAME: VALUE`` or ``NAME: {value: VALUE, level: warning}``. Where both set a rule, the stricter wins
  (a rule another source makes at least as strict, at least at its level, is shown as overridden); a violation
  is a located line naming the policy and the source that set it.

Rules that need only the file (``OFFLINE``) are checked while the file is validated (``validate`` runs them
with no account); the others need the plan (``PLAN``) or the command (``no_billable_conversation``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.models import DEFAULT_MASS_MIN_CHANGES as DEFAULT_MIN_CHANGES
from reconciler.engine.models import DEFAULT_MASS_PERCENT as DEFAULT_MAX_PERCENT
from reconciler.engine.models import Action, Config, MassChangeSettings, Plan
from reconciler.kinds import DEFAULT_KIND

FILE_SOURCE = "settings.policy"
LEVELS = ("error", "warning")

# name -> (shape of its value, when it is checked)
RULES: dict[str, tuple[str, str]] = {
    "allowed_models": ("patterns", "offline"),  # every declared (not pinned) replica has a model matching one
    "require_consent_video": ("flag", "offline"),  # human replicas: a consent video (not consent in the training one)
    "llm_base_urls": ("patterns", "offline"),  # personas' layers.llm.base_url on this allow-list
    "llm_keys_from_env": ("flag", "offline"),  # personas' layers.llm api_key and headers only as ${VAR}
    "max_creates": ("limit", "plan"),  # per apply, every kind
    "max_deletes": ("limit", "plan"),
    "max_replaces": ("limit", "plan"),
    "never_prune": ("kinds", "plan"),  # kinds whose objects prune may never delete
    "no_billable_conversation": ("conversation", "converse"),  # true: `converse` refused in CI; always: anywhere
}
OFFLINE = tuple(n for n, (_, when) in RULES.items() if when == "offline")
# an offline rule is checked by the kind whose rules module lists it in ``POLICY_RULES``, with that module's
# ``check_policy(rule, located)`` (reconciler.engine.rule_hooks)


@dataclass(frozen=True)
class Rule:
    """One policy rule as written: in the file (``source`` settings.policy) or in a ``--policy FILE``."""

    name: str
    value: Any
    level: str = "error"
    source: str = FILE_SOURCE  # "settings.policy" or the policy file's path
    where: str = ""  # FILE:LINE:COL of its definition

    @property
    def origin(self) -> str:
        if self.source != FILE_SOURCE:
            return self.where or self.source  # the policy file's own path:line:col
        return f"{self.source} at {self.where}" if self.where else self.source

    def shown_value(self) -> str:
        v = self.value
        if isinstance(v, list | tuple):
            return ", ".join(str(x) for x in v) or "(none)"
        if v is True:
            return "true"
        if v is False:
            return "false"
        return str(v)


@dataclass(frozen=True)
class Finding:
    """A violated rule: ``message`` is one located line (``FILE:LINE:COL: policy NAME (SOURCE): ...``)."""

    policy: str
    level: str
    message: str
    source: str


@dataclass(frozen=True)
class MassChange:
    """One kind over the mass-change threshold."""

    kind: str
    existing: int  # managed objects of the kind on the account
    deletes: int
    replaces: int

    @property
    def changes(self) -> int:
        return self.deletes + self.replaces

    @property
    def percent(self) -> float:
        return 100.0 * self.changes / self.existing if self.existing else 100.0


@dataclass(frozen=True)
class Safety:
    """What ``plan`` and ``apply`` checked, for the renderers (``Plan.safety``)."""

    scope: Mapping[str, Any] = field(default_factory=dict)  # {"name_prefix": P} | {"whole_account": True} | {}
    rules: tuple[tuple[Rule, bool], ...] = ()  # every rule declared, and whether it is in force (not overridden)
    findings: tuple[Finding, ...] = ()
    mass: tuple[MassChange, ...] = ()  # kinds over the threshold (refused, or allowed)
    mass_allowed_by: str | None = None  # "--allow-mass-change" when the guard was overridden
    mass_settings: MassChangeSettings = field(default_factory=MassChangeSettings)

    @property
    def mass_refused(self) -> bool:
        return bool(self.mass) and self.mass_allowed_by is None


# ----------------------------------------------------------------------------------------- rules


def _strictness(name: str, a: Any, b: Any) -> bool:
    """True when value ``a`` of rule ``name`` is at least as strict as ``b``."""
    shape = RULES[name][0]
    if shape == "patterns":  # fewer allowed patterns: stricter (an allow-list that is a subset)
        return set(a) <= set(b)
    if shape == "flag":
        return bool(a) or not b
    if shape == "limit":
        return a <= b
    if shape == "kinds":
        return set(a) >= set(b)
    order = {False: 0, True: 1, "ci": 1, "always": 2}
    return order.get(a, 0) >= order.get(b, 0)


def in_force(rules: Sequence[Rule]) -> tuple[tuple[Rule, bool], ...]:
    """Each rule and whether it is in force: a rule is overridden when another source sets the same rule at least
    as strictly, at least at its level (the file's rule wins a tie). Both are in force when neither covers the
    other (then both are checked, which is the stricter of the two)."""
    out = []
    for i, r in enumerate(rules):
        overridden = False
        for j, other in enumerate(rules):
            if j == i or other.name != r.name or other.source == r.source:
                continue
            at_least = _strictness(r.name, other.value, r.value) and LEVELS.index(other.level) <= LEVELS.index(r.level)
            same = _strictness(r.name, r.value, other.value) and other.level == r.level
            if at_least and (not same or other.source == FILE_SOURCE):
                overridden = True
        out.append((r, not overridden))
    return tuple(out)


def active(config: Config, name: str) -> list[Rule]:
    return [r for r, on in in_force(config.policy) if on and r.name == name]


def _finding(rule: Rule, where: str, text: str) -> Finding:
    loc = f"{where}: " if where else ""
    origin = rule.origin if where != rule.where else rule.source  # located at the rule itself: say only who set it
    return Finding(rule.name, rule.level, f"{loc}policy {rule.name} ({origin}): {text}", rule.source)


def _matches(value: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


# ----------------------------------------------------------------------------------------- offline rules


@dataclass(frozen=True)
class Located:
    """What the offline rules look at, with where it is written (built by the validation, which has the
    positions): kind key -> what that kind's rules module's ``located`` hook found, e.g. per replica ``(name,
    model_name or None, model_where, synthetic, consent_video, in_video, adopted, where)``; per persona ``(name,
    base_url or None, base_url_where, [(field, written_as_var, where)])``. ``located[key]``: () when none."""

    of: Mapping[str, tuple[tuple, ...]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> tuple[tuple, ...]:
        return self.of.get(key, ())


def check_offline(rules: Sequence[Rule], located: Located) -> list[Finding]:
    """The rules that need only the file; each is its kind's (``kinds/<kind>/policy.py``)."""
    from reconciler.engine.rule_hooks import hooks

    owner = {name: key for key, names in hooks("POLICY_RULES") for name in names}
    checks = dict(hooks("check_policy"))
    found: list[Finding] = []
    for rule, on in in_force(rules):
        if on and rule.name in OFFLINE and rule.name in owner:
            found += checks[owner[rule.name]](rule, located)
    return found


# ----------------------------------------------------------------------------------------- plan rules


def _count(plan: Plan, action: Action) -> list[str]:
    """Names of the plan's changes of ``action``; a failed successor's removal (the tool's own clean-up) and a
    replace already past its old replica's deletion are not counted."""
    out = []
    for c in plan.changes:
        if c.action is not action:
            continue
        if action is Action.DELETE and c.successor_id is not None:
            continue
        if action is Action.REPLACE and c.phase == "rename":
            continue
        out.append(c.name if c.kind == DEFAULT_KIND else f"{_noun(c.kind)} {c.name}")
    return out


def _noun(key: str) -> str:
    from reconciler.kinds import registered

    return next((k.noun for k in registered() if k.key == key), key)


def check_plan(config: Config, plan: Plan, *, prune_flag: bool = False) -> list[Finding]:
    """The rules that need the plan: counts per apply, kinds never pruned."""
    found: list[Finding] = []
    limits = {"max_creates": Action.CREATE, "max_deletes": Action.DELETE, "max_replaces": Action.REPLACE}
    for rule, on in in_force(config.policy):
        if not on:
            continue
        if rule.name in limits:
            names = _count(plan, limits[rule.name])
            if len(names) > rule.value:
                shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                verb = limits[rule.name].value
                found.append(_finding(rule, rule.where, f"the plan would {verb} {len(names)} object(s) ({shown}); "
                                      f"at most {rule.value} per apply: split the change, or apply with --target"))
        elif rule.name == "never_prune":
            for c in plan.changes:
                if c.action is Action.DELETE and c.successor_id is None and c.kind in rule.value:
                    found.append(_finding(rule, rule.where, f"prune would delete the {_noun(c.kind)} {c.name} "
                                          f"({c.object_id}): {c.kind} are never pruned; declare it, "
                                          "list it under removed:, or turn prune off"))
    return found


def mass_changes(config: Config, plan: Plan, listings: Mapping[str, Sequence | None],
                 settings: MassChangeSettings) -> tuple[MassChange, ...]:
    """The kinds whose deletes + replaces are more than ``max_percent`` of the managed objects of that kind on
    the account, and at least ``min_changes`` (``listings``: kind key -> what the account listed, None or absent
    for a kind not listed)."""
    existing = _existing_objects(config, listings)
    out = []
    for kind in existing:
        mine = [c for c in plan.changes if c.kind == kind]
        deletes = sum(1 for c in mine if c.action is Action.DELETE and c.successor_id is None)
        replaces = sum(1 for c in mine if c.action is Action.REPLACE and c.phase != "rename")
        m = MassChange(kind, existing[kind], deletes, replaces)
        if m.changes >= settings.min_changes and m.percent > settings.max_percent:
            out.append(m)
    return tuple(out)


def _existing_objects(config: Config, listings: Mapping[str, Sequence | None]) -> dict[str, int]:
    """kind key -> the managed objects in scope on the account, in the registry's order: a kind's own count
    (:class:`~reconciler.engine.kind.WithMassCount`), else, for every kind of the generic engine the file
    declares (documents...), its managed objects in scope (issue 27)."""
    from reconciler.engine.kind import WithMassCount, has, in_scope
    from reconciler.kinds import registered

    out: dict[str, int] = {}
    prefix = config.settings.name_prefix
    for k in registered():
        listing = listings.get(k.key)
        if listing is None:
            continue
        if has(k, WithMassCount):
            out[k.key] = k.mass_count(config, listing)
            continue
        if getattr(k, "legacy_path", False) or k.key not in config.objects:
            continue
        out[k.key] = sum(1 for r in listing if k.managed(r) and in_scope(k, k.remote_name(r), prefix))
    return out


def mass_change_line(m: MassChange, settings: MassChangeSettings) -> str:
    """The one line a refused mass change prints: how many, and what to pass to go on."""
    what = " and ".join(x for x in (f"delete {m.deletes}" if m.deletes else "",
                                    f"replace {m.replaces}" if m.replaces else "") if x)
    return (f"mass change refused: the plan would {what} of the {m.existing} {m.kind} this file manages "
            f"({m.percent:.0f}%, over {settings.max_percent:g}%); review it and pass --allow-mass-change to go on "
            "(or raise settings.mass_change.max_percent)")


def scope_of(config: Config) -> dict:
    if config.settings.name_prefix:
        return {"name_prefix": config.settings.name_prefix}
    if config.settings.whole_account:
        return {"whole_account": True}
    return {}


def prune_scope_error(config: Config) -> str:
    return (f"{config.path}: --prune needs a scope: set settings.scope.name_prefix to the prefix of the names this "
            "file owns, or write settings.scope: {whole_account: true} to let prune delete anything on the account "
            "the file does not declare")


def check(config: Config, plan: Plan, listings: Mapping[str, Sequence | None], *, prune_flag: bool = False,
          allow_mass_change: bool = False) -> Plan:
    """``plan`` with the safety rails applied: policy findings and a refused mass change added to its errors
    (warnings for soft rules), and ``Plan.safety`` set for the renderers (``listings``: see
    :func:`mass_changes`). Pure."""
    import dataclasses

    errors, warnings = list(plan.errors), list(plan.warnings)
    scope = scope_of(config)
    if prune_flag and not scope:
        errors.append(prune_scope_error(config))
    findings = list(config.policy_findings) + check_plan(config, plan, prune_flag=prune_flag)
    for f in findings:
        (errors if f.level == "error" else warnings).append(f.message)
    settings = config.settings.mass_change
    mass = mass_changes(config, plan, listings, settings)
    allowed_by = "--allow-mass-change" if allow_mass_change and mass else None
    for m in mass:
        if allowed_by:
            warnings.append(f"mass change allowed ({allowed_by}): the plan deletes or replaces {m.changes} of the "
                            f"{m.existing} {m.kind} this file manages ({m.percent:.0f}%)")
        else:
            errors.append(mass_change_line(m, settings))
    safety = Safety(scope=scope, rules=in_force(config.policy), findings=tuple(findings), mass=mass,
                    mass_allowed_by=allowed_by, mass_settings=settings)
    return dataclasses.replace(plan, errors=tuple(errors), warnings=tuple(warnings), safety=safety)


# ----------------------------------------------------------------------------------------- converse


def is_ci(environ: Mapping[str, str]) -> bool:
    """CI runners set ``CI`` (GitHub Actions, GitLab, CircleCI, Travis, Buildkite...): any value but empty,
    ``0`` or ``false``."""
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def converse_refusal(config: Config, environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(errors, warnings) of ``no_billable_conversation`` for ``converse``: ``true`` refuses it in CI (the ``CI``
    variable set), ``always`` everywhere. ``smoke`` (free test-mode conversations) is never refused."""
    errors, warnings = [], []
    for rule in active(config, "no_billable_conversation"):
        if rule.value == "always" or (rule.value and is_ci(environ)):
            where = "anywhere" if rule.value == "always" else "in CI (the CI variable is set)"
            line = _finding(rule, rule.where, f"converse starts a billed conversation, not allowed {where}; "
                                              "`smoke` runs free test-mode conversations").message
            (errors if rule.level == "error" else warnings).append(line)
    return errors, warnings


# ----------------------------------------------------------------------------------------- documents


def document(safety: Safety) -> dict:
    """The plan document's ``scope``, ``policy`` and ``mass_change`` keys (schemas/plan.schema.json)."""
    doc: dict[str, Any] = {"scope": dict(safety.scope)}
    doc["policy"] = {
        "rules": [{"name": r.name, "value": list(r.value) if isinstance(r.value, list | tuple) else r.value,
                   "level": r.level, "source": r.source, "where": r.where, "in_force": on} for r, on in safety.rules],
        "violations": [{"policy": f.policy, "level": f.level, "source": f.source, "message": f.message}
                       for f in safety.findings],
    }
    doc["mass_change"] = {
        "max_percent": safety.mass_settings.max_percent, "min_changes": safety.mass_settings.min_changes,
        "refused": safety.mass_refused, "allowed_by": safety.mass_allowed_by,
        "kinds": [{"kind": m.kind, "existing": m.existing, "deletes": m.deletes, "replaces": m.replaces,
                   "percent": round(m.percent, 1)} for m in safety.mass],
    }
    return doc


def from_document(doc: Mapping) -> Safety | None:
    """A saved plan's safety section (for ``show``), or None when it has none."""
    if "policy" not in doc and "mass_change" not in doc and "scope" not in doc:
        return None
    pol, mass = doc.get("policy") or {}, doc.get("mass_change") or {}
    rules = tuple((Rule(str(r["name"]), r.get("value"), str(r.get("level") or "error"), str(r.get("source") or ""),
                        str(r.get("where") or "")), bool(r.get("in_force", True))) for r in pol.get("rules", ()))
    findings = tuple(Finding(str(f["policy"]), str(f.get("level") or "error"), str(f.get("message") or ""),
                             str(f.get("source") or "")) for f in pol.get("violations", ()))
    kinds = tuple(MassChange(str(k["kind"]), int(k["existing"]), int(k["deletes"]), int(k["replaces"]))
                  for k in mass.get("kinds", ()))
    settings = MassChangeSettings(float(mass.get("max_percent", DEFAULT_MAX_PERCENT)),
                                  int(mass.get("min_changes", DEFAULT_MIN_CHANGES)))
    return Safety(scope=dict(doc.get("scope") or {}), rules=rules, findings=findings, mass=kinds,
                  mass_allowed_by=mass.get("allowed_by"), mass_settings=settings)


def saved_rules(document: Mapping) -> tuple[Rule, ...]:
    """The ``--policy FILE`` rules a saved plan was made with (its document's ``policy.rules`` not from the file
    itself), so ``apply PLANFILE`` checks them again without the flag. Values are checked as a file's would be."""
    out = []
    for r in (document.get("policy") or {}).get("rules", ()) if isinstance(document, Mapping) else ():
        if not isinstance(r, Mapping) or r.get("source") in (None, FILE_SOURCE) or r.get("name") not in RULES:
            continue
        value = _clean(str(r["name"]), list(r["value"]) if isinstance(r.get("value"), list) else r.get("value"))
        if value is not None:
            out.append(Rule(str(r["name"]), value, r.get("level") if r.get("level") in LEVELS else "error",
                            str(r["source"]), str(r.get("where") or "")))
    return tuple(out)


def header_lines(safety: Safety | None) -> list[str]:
    """The lines every plan shows first: a whole-account scope, the rules in force with who set them."""
    if safety is None:
        return []
    out = []
    if safety.scope.get("whole_account"):
        out.append("Scope: the WHOLE ACCOUNT (settings.scope.whole_account: true): prune may delete any user "
                   "object of the kinds this file declares that it does not declare.")
    on = [(r, f) for r, f in safety.rules]
    if on:
        out.append("Policy: " + "; ".join(
            f"{r.name} {r.shown_value()}{' (warning)' if r.level == 'warning' else ''} from {r.origin}"
            + ("" if f else " (overridden: stricter elsewhere)") for r, f in on))
    if safety.mass and safety.mass_allowed_by:
        out.append(f"Mass change allowed by {safety.mass_allowed_by}.")
    return out


# ----------------------------------------------------------------------------------------- parsing


def parse_rules(raw: Any, at, source: str, shown: str) -> list[Rule]:
    """Rules from a located mapping (``settings.policy`` or a policy file's root) that the schema has checked;
    ``at(key)`` gives the (line, col) of a rule. Values the schema refused are left out (it reported them)."""
    if not isinstance(raw, dict):
        return []
    out = []
    for name, value in raw.items():
        if name not in RULES:
            continue
        level = "error"
        if isinstance(value, dict):
            level = value.get("level") if value.get("level") in LEVELS else "error"
            value = value.get("value")
        value = _clean(name, value)
        if value is None:
            continue
        line, col = at(name)
        out.append(Rule(name, value, level, source, f"{shown}:{line}:{col}"))
    return out


def _clean(name: str, value: Any) -> Any:
    shape = RULES[name][0]
    if shape in ("patterns", "kinds"):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        return None
    if shape == "flag":
        return value if isinstance(value, bool) else None
    if shape == "limit":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value if type(value) is int and value >= 0 else None
    return value if value in (True, False, "always") else None


def validate_lines(config: Config, *, policy_only: bool = False) -> tuple[list[str], bool]:
    """What ``validate`` prints about the policy (no account needed): each violation of a rule that needs only
    the file (``error: ...`` / ``warning: ...``); with ``policy_only``, also every rule with who set it and when it
    is checked. Returns (lines, whether a rule refused)."""
    lines = [f"{'error' if f.level == 'error' else 'warning'}: {f.message}" for f in config.policy_findings]
    failed = any(f.level == "error" for f in config.policy_findings)
    if policy_only:
        rules = in_force(config.policy)
        if not rules:
            lines.append(f"{config.path}: no policy rules (settings.policy, --policy FILE)")
        when = {"offline": "checked now", "plan": "checked by plan and apply", "converse": "checked by converse"}
        bad = {f.policy for f in config.policy_findings if f.level == "error"}
        for r, on in rules:
            state = "overridden by a stricter rule" if not on else (
                "VIOLATED" if r.name in bad and RULES[r.name][1] == "offline" else
                "ok" if RULES[r.name][1] == "offline" else when[RULES[r.name][1]])
            level = " (warning)" if r.level == "warning" else ""
            lines.append(f"{config.path}: policy {r.name} = {r.shown_value()}{level}, from {r.origin}: {state}")
        if config.settings.whole_account:
            lines.append(f"{config.path}: scope: the whole account (settings.scope.whole_account: true)")
        if not failed:
            lines.append(f"{config.path}: policy ok ({sum(1 for _, on in rules if on)} rule(s) in force)")
    return lines, failed
