"""Mutation testing, by hand-picked mutations of the core (engine, kinds, client): run before a release.

    .venv/bin/python bench/mutate.py            # every mutation against its unit test modules
    .venv/bin/python bench/mutate.py --e2e      # ... and the e2e modules named for it too (slower)
    .venv/bin/python bench/mutate.py -k rolling # only the mutations whose id contains "rolling"

Each mutation is one small change a plausible bug would make (a condition dropped, a bound off by one, the
wrong one of two chosen). The tree is copied to a temporary folder; each mutation is applied there alone, the
tests that should notice it run (``pytest -x``, in the copy, so nothing here is touched), and the mutation is
*killed* when they fail. The score is killed / total; a survivor names behaviour no test checks: add the test
that kills it (and keep the mutation here). Keep this list in step with the code (with ``--root`` at an older
checkout, the mutations of code it lacks are shown as n/a).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    id: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    e2e: tuple[str, ...] = ()


M = Mutation
MUTATIONS = [
    # ------------------------------------------------------------------ planner, resolver
    M("planner: a replace no longer records the ${VAR}s it needs", "reconciler/kinds/replicas/plan.py",
      'after=after, desired=d, phase="create"))\n        missing.update(d.missing_vars)',
      'after=after, desired=d, phase="create"))', ("tests/test_replicas_plan.py",)),
    M("planner: a create no longer records the ${VAR}s it needs", "reconciler/kinds/replicas/plan.py",
      'after=desired_attributes(d), desired=d))\n        missing.update(d.missing_vars)\n    else:',
      'after=desired_attributes(d), desired=d))\n    else:', ("tests/test_replicas_plan.py",)),
    M("planner: prune deletes a replica a persona still references", "reconciler/kinds/personas/plan.py",
      "kept = [c for c in deletes if not c.successor_id and c.replica_id in users]", "kept = []",
      ("tests/test_persona_plan.py",)),
    M("planner: a protected replica is replaced", "reconciler/kinds/replicas/plan.py",
      "    elif d.protect:\n        errors.append(f\"{d.name} ({r.replica_id}) is protected",
      "    elif False:\n        errors.append(f\"{d.name} ({r.replica_id}) is protected",
      ("tests/test_replicas_plan.py",)),
    M("resolver: duplicate ids in a listing are not deduplicated", "reconciler/kinds/replicas/resolve.py",
      "if r.replica_id in claimed or r.replica_id in seen or", "if r.replica_id in claimed or",
      ("tests/test_replicas_resolve.py",)),
    M("resolver: removed: by id is ignored", "reconciler/kinds/replicas/resolve.py",
      "(released if r.name in removed_names or r.replica_id in removed_ids else unmanaged)",
      "(released if r.name in removed_names else unmanaged)", ("tests/test_replicas_resolve.py",)),
    M("resolver: two matches are one", "reconciler/kinds/replicas/resolve.py",
      "return Found.ONE if len(self.matches) == 1 else", "return Found.ONE if len(self.matches) >= 1 else",
      ("tests/test_replicas_resolve.py", "tests/test_replicas_plan.py")),
    M("resolver: a replace in its rename phase is not the declared replica", "reconciler/kinds/replicas/resolve.py",
      "if len(self.successors) == 1 and self.successors[0].phase is not Phase.FAILED:", "if False:",
      ("tests/test_persona_plan.py",)),
    M("resolver: stock replicas are in scope", "reconciler/kinds/replicas/resolve.py",
      'return r.replica_type != "system"', "return True",
      ("tests/test_replicas_resolve.py", "tests/test_replicas_plan.py")),
    # ------------------------------------------------------------------ executor
    M("executor: the re-check adopts the youngest concurrent replica", "reconciler/kinds/replicas/apply.py",
      "_age(r) < _age(appeared[r.name])", "_age(r) > _age(appeared[r.name])", ("tests/test_replicas_apply.py",)),
    M("executor: after creating, our duplicate survives when it is younger", "reconciler/engine/executor.py",
      "        if first == o.new_id:\n            continue", "        if first != o.new_id:\n            continue",
      ("tests/test_replicas_apply.py", "tests/test_personas_apply.py", "tests/test_executor.py"),
      ("tests/test_e2e_exactly_once.py",)),
    M("executor: personas are not re-pointed at the swap", "reconciler/kinds/replicas/replaces.py",
      "        if p.default_replica_id == old_id:", "        if False:", ("tests/test_replicas_apply.py",),
      ("tests/test_e2e_rolling.py",)),
    M("executor: the old replica is not re-read before its delete", "reconciler/kinds/replicas/replaces.py",
      '    if old.name != item.name:\n        return f"{item.old_id} is now named',
      '    if False:\n        return f"{item.old_id} is now named',
      ("tests/test_replicas_rolling.py",)),
    M("executor: the name is not checked before the rename", "reconciler/kinds/replicas/replaces.py",
      "    others = [r for r in client.list_replicas() if r.name == item.name and r.replica_id != item.successor_id]",
      "    others = []",
      ("tests/test_replicas_rolling.py",)),
    M("executor: a failed successor a persona uses is deleted", "reconciler/kinds/replicas/replaces.py",
      "        if users:\n            return f\"persona", "        if False:\n            return f\"persona",
      ("tests/test_replicas_rolling.py",)),
    M("executor: a pruned replica renamed since the plan is deleted", "reconciler/kinds/replicas/replaces.py",
      "    if now.name != change.name:", "    if False:", ("tests/test_replicas_apply.py",)),
    M("executor: prune deletes run although a create failed", "reconciler/engine/executor.py",
      "        if not report.failed and not report.interrupted:\n            stage(deletes)",
      "        if True:\n            stage(deletes)", ("tests/test_replicas_apply.py",), ("tests/test_e2e_apply.py",)),
    # ------------------------------------------------------------------ rolling
    M("rolling: max_replacing counts only successors in training", "reconciler/kinds/replicas/rolling.py",
      "self.count(TRAINING, TRAINED, RENAMING)", "self.count(TRAINING)",
      ("tests/test_replicas_rolling.py",)),
    M("rolling: a vanished successor is not a failure", "reconciler/kinds/replicas/rolling.py",
      "elif phase is Phase.FAILED or phase == GONE:", "elif phase is Phase.FAILED:",
      ("tests/test_replicas_rolling.py",)),
    M("rolling: the canary gate is ignored", "reconciler/kinds/replicas/rolling.py",
      "            if canary_open and not run.step.canary:\n                break",
      "            if False:\n                break",
      ("tests/test_replicas_rolling.py",)),
    M("rolling: a failed verification still swaps", "reconciler/kinds/replicas/rolling.py",
      "            if problem:\n                run.state, run.detail = UNVERIFIED, problem",
      "            if False:\n                run.state, run.detail = UNVERIFIED, problem",
      ("tests/test_replicas_rolling.py",)),
    M("rolling: no jitter before a paid start", "reconciler/engine/executor.py",
      "    if jitter > 0:\n        import random", "    if False:\n        import random",
      ("tests/test_replicas_rolling.py",)),
    # ------------------------------------------------------------------ kinds, personas
    M("personas: a hidden layer is added whole", "reconciler/kinds/personas/kind.py",
      "if isinstance(want, Mapping) and want and not isinstance(_at_path(remote.document, path), Mapping):",
      "if False:", ("tests/test_persona_plan.py",)),
    M("personas: a pinned stock persona is patched", "reconciler/kinds/personas/plan.py",
      '        if remote.persona_type == "system":', "        if False:", ("tests/test_persona_plan.py",)),
    M("personas: a key masked with dots is compared", "reconciler/kinds/personas/models.py",
      r"|\.{3}|", "|", ("tests/test_persona_plan.py",)),
    M("replicas: a changed model no longer replaces", "reconciler/kinds/replicas/kind.py",
      "            if want and have and want != have:", "            if False:",
      ("tests/test_replicas_plan.py", "tests/test_kinds.py")),
    M("replicas: a failed training no longer replaces", "reconciler/kinds/replicas/kind.py",
      "        if remote.phase is Phase.FAILED:\n            detail", "        if False:\n            detail",
      ("tests/test_replicas_plan.py", "tests/test_kinds.py")),
    # ------------------------------------------------------------------ secrets, saved plans, client
    M("config: a ${VAR} value is not a secret", "reconciler/engine/yamlpos.py",
      "                register_secret(secret)", "                pass", ("tests/test_config_personas.py",),
      ("tests/test_e2e_redact.py",)),
    M("config: ${TAVUS_API_KEY} in the file is accepted", "reconciler/engine/yamlpos.py",
      "if any(name in API_KEY_VARS for name, _ in used):", "if False:", ("tests/test_config_personas.py",)),
    M("redact: a query string is kept", "reconciler/api/redact.py",
      'query = REDACTED if parts.query else ""', "query = parts.query", ("tests/test_redact.py",)),
    M("planfile: another account is accepted", "reconciler/engine/planfile.py",
      "    if account is not None and account != saved.account:", "    if False:", ("tests/test_planfile.py",),
      ("tests/test_e2e_apply.py",)),
    M("client: the planned page count rounds down", "reconciler/api/client.py",
      "planned = math.ceil(total / size)", "planned = total // size", ("tests/test_client.py",)),
    M("client: a lost test-mode answer is not reported", "reconciler/api/client.py",
      "            lost.append(reason)", "            pass", ("tests/test_personas.py",)),
]


def pytest(tree: Path, tests: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", *tests],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=1800)


def run(mutation: Mutation, tree: Path, e2e: bool) -> tuple[bool | None, float]:
    """(killed, seconds): apply the mutation in ``tree``, run its tests, restore the file. None: the text to
    mutate is not in that tree (``--root`` at an older commit)."""
    target = tree / mutation.path
    original = target.read_text()
    count = original.count(mutation.old)
    if count != 1:
        return None, 0.0
    target.write_text(original.replace(mutation.old, mutation.new, 1))
    tests = [t for t in (*mutation.tests, *(mutation.e2e if e2e else ())) if (tree / t).exists()]
    started = time.monotonic()
    try:
        proc = pytest(tree, tests)
    finally:
        target.write_text(original)
    return proc.returncode != 0, time.monotonic() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--e2e", action="store_true", help="also run the e2e modules named for each mutation")
    ap.add_argument("-k", default="", help="only mutations whose id contains this text")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to mutate (default: this one), e.g. a "
                                                            "worktree of an older commit, to compare scores")
    a = ap.parse_args()
    chosen = [m for m in MUTATIONS if a.k in m.id]
    with tempfile.TemporaryDirectory(prefix="tavus-mutate-") as tmp:
        tree = Path(tmp)
        for name in ("reconciler", "tests", "schemas", "examples"):
            shutil.copytree(a.root / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md", "action.yml"):
            shutil.copy2(a.root / name, tree / name)
        # the tests import the copy, not the editable install: pytest runs with the copy as its working directory,
        # where the package is found first. The unmutated tests must pass there, or no score means anything.
        baseline = pytest(tree, sorted({t for m in chosen for t in m.tests if (tree / t).exists()}))
        if baseline.returncode != 0:
            print(baseline.stdout[-3000:])
            raise SystemExit("the tests fail without any mutation: fix them first")
        killed = tried = 0
        for m in chosen:
            dead, seconds = run(m, tree, a.e2e)
            if dead is None:
                print(f"n/a      {m.id} (not in this tree)")
                continue
            tried += 1
            killed += dead
            print(f"{'killed  ' if dead else 'SURVIVED'} {m.id} ({seconds:.1f}s)", flush=True)
    print(f"mutation score: {killed}/{tried} killed ({100 * killed / max(1, tried):.0f}%)")
    return 0 if killed == tried else 1


if __name__ == "__main__":
    raise SystemExit(main())
