"""Measure: two `apply` runs rolling the same fleet at once (issue 24 #5). How many paid trainings (successor
POSTs) beyond one per replace do they buy between them?

    .venv/bin/python bench/concurrent_rollouts.py [--replaces 10] [--trials 3] [--latency 0.01]

Each trial: a fresh simulator with N trained phoenix-3 replicas, a file declaring them on phoenix-4 (N
model-change replaces, max_replacing 2, canary 1, verify smoke), two CLI runs started together, then one more
apply to finish whatever a run stopped safely on. Prints the extra trainings per trial (target: <= 1 per 10
replaces). Asserts nothing: a figure, not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.sim.simulator import Simulator  # noqa: E402

KEY = "bench-key"


def env(sim: Simulator) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    e.update(TAVUS_API_URL=sim.url, TAVUS_API_KEY=KEY, TAVUS_RETRY_BACKOFF_SECONDS="0.01", NO_COLOR="1",
             TAVUS_CREATE_SETTLE_SECONDS="1")
    return e


def trial(n: int, latency: float, train: float) -> tuple[int, list[int]]:
    with Simulator(api_key=KEY, train_seconds=train) as sim, tempfile.TemporaryDirectory() as tmp:
        names = [f"acme-{i:02d}" for i in range(1, n + 1)]
        for name in names:
            sim.add_replica(replica_name=name, status="completed", model_name="phoenix-3")
        entries = "".join(f"  - name: {name}\n    model_name: phoenix-4\n    synthetic: true\n"
                          f"    train_video_url: {sim.video_url(name + '.mp4')}\n" for name in names)
        path = Path(tmp) / "replicas.yaml"
        path.write_text("version: 1\nsettings:\n  scope:\n    name_prefix: acme-\n  rollout:\n    max_replacing: 2\n"
                        f"    canary: 1\n    verify: smoke\nreplicas:\n{entries}")
        sim.set_faults(latency=latency)
        args = [sys.executable, "-m", "reconciler", "apply", str(path), "--auto-approve", "--poll-interval", "0.1"]
        procs = [subprocess.Popen(args, env=env(sim), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=600)[0] for p in procs]
        codes = [p.returncode for p in procs]
        if os.environ.get("SHOW"):
            print(*outs, sep="\n-----\n")
        sim.set_faults()
        subprocess.run(args, env=env(sim), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
        posts = [r for r in sim.requests if r["method"] == "POST" and r["path"] == "/v2/replicas"]
        final = sorted(r["replica_name"] for r in sim.replicas())
        assert final == names, final
        return len(posts) - n, codes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replaces", type=int, default=10)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--latency", type=float, default=0.01)
    ap.add_argument("--train-seconds", type=float, default=0.4)
    a = ap.parse_args()
    extras = []
    for i in range(a.trials):
        started = time.monotonic()
        extra, codes = trial(a.replaces, a.latency, a.train_seconds)
        extras.append(extra)
        print(f"trial {i + 1}: {extra} extra paid training(s) for {a.replaces} replaces "
              f"(exit codes {codes}, {time.monotonic() - started:.1f}s)")
    print(f"total: {sum(extras)} extra over {a.trials} trials ({sum(extras) / a.trials:.1f} per trial)")


if __name__ == "__main__":
    main()
