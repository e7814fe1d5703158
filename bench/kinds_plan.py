"""Benchmark (issue 27): the API requests and wall time of ``plan`` over N objects of EACH kind.

    .venv/bin/python bench/kinds_plan.py [--objects 1000] [--latency 0.05] [--runs 1]

Seeds a local simulator with ``--objects`` objects of every kind the registry holds (replicas, personas and
each kind of issue 27: documents, guardrails, objectives, pronunciation dictionaries, tools), writes a file
declaring all of them (so the plan matches every object: no change), runs the real CLI's ``plan`` over real
HTTP with ``--latency`` seconds added to every API request, and prints the request count per kind (the
simulator's request log), the minimum (pages of each listing), the API wall time and the process time. A
kind the registry does not hold (not merged yet) is skipped and said so. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench import KEY, PAGE, api_log, api_wall, run_cli, simulator  # noqa: E402
from reconciler.kinds import kinds as registered  # noqa: E402

PREFIX = "bench-"
TOOL_PREFIX = "bench_"  # tool and guardrail names hold letters, digits and _ only (the scope reads "-" as "_")


def _name(key: str, i: int) -> str:
    if key in ("tools", "guardrails"):
        return f"{TOOL_PREFIX}{key[:4]}_{i:05d}"
    return f"{PREFIX}{key[:4]}-{i:05d}"


def _replica(sim, i: int) -> list[str]:
    n = _name("replicas", i)
    sim.add_replica(replica_name=n, status="completed")
    return [f"  - name: {n}", f"    train_video_url: {sim.video_url('v.mp4')}", "    synthetic: true"]


def _post(http: httpx.Client, path: str, body: dict) -> None:
    resp = http.post(path, json=body)
    resp.raise_for_status()


# kind key -> (its collection's path, the body of a create, the YAML lines of the declared entry)
SEEDS = {
    "personas": ("/v2/personas", lambda n: {"persona_name": n, "system_prompt": "You help."},
                 lambda n: [f"  - name: {n}", "    system_prompt: You help."]),
    "documents": ("/v2/documents", lambda n: {"document_name": n, "document_url": f"https://docs.example.com/{n}.pdf"},
                  lambda n: [f"  - name: {n}", f"    document_url: https://docs.example.com/{n}.pdf"]),
    "guardrails": ("/v2/guardrails", lambda n: {"guardrail_name": n, "guardrail_prompt": "Never discuss salary.",
                                                "modality": "verbal"},
                   lambda n: [f"  - name: {n}", "    guardrail_prompt: Never discuss salary.", "    modality: verbal"]),
    "objectives": ("/v2/objectives",
                   lambda n: {"name": n, "data": [{"objective_name": "ask", "objective_prompt": "Ask.",
                                                   "confirmation_mode": "auto"}]},
                   lambda n: [f"  - name: {n}", "    data:", "      - objective_name: ask",
                              "        objective_prompt: Ask.", "        confirmation_mode: auto"]),
    "pronunciation_dictionaries": (
        "/v2/pronunciation-dictionaries",
        lambda n: {"name": n, "rules": [{"text": "Tavus", "pronunciation": "TAH-vus", "type": "alias"}]},
        lambda n: [f"  - name: {n}", "    rules: [{text: Tavus, pronunciation: TAH-vus, type: alias}]"]),
    "tools": ("/v2/tools", lambda n: {"name": n, "description": "Look it up."},
              lambda n: [f"  - name: {n}", "    description: Look it up."]),
}


def seed(sim, objects: int) -> tuple[str, dict[str, int], list[str]]:
    """Seed the account; returns (the file's text, kind -> objects seeded, kinds skipped)."""
    keys = [k.key for k in registered()]
    lines = ["version: 1", "settings:", "  scope:", f'    name_prefix: "{PREFIX}"']
    seeded: dict[str, int] = {}
    skipped = [k for k in ("replicas", *SEEDS) if k not in keys]
    if "replicas" in keys:
        lines.append("replicas:")
        for i in range(objects):
            lines += _replica(sim, i)
        seeded["replicas"] = objects
    with httpx.Client(base_url=sim.url, headers={"x-api-key": KEY}, timeout=60) as http:
        for key, (path, body, entry) in SEEDS.items():
            if key not in keys:
                continue
            lines.append(f"{key}:")
            for i in range(objects):
                n = _name(key, i)
                _post(http, path, body(n))
                lines += entry(n)
            seeded[key] = objects
    return "\n".join(lines) + "\n", seeded, skipped


def _kind_of(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) > 1 else path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, default=1000, help="objects of each kind (1,000)")
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to every API request (50 ms)")
    ap.add_argument("--runs", type=int, default=1, help="runs (the median wall is shown)")
    args = ap.parse_args()
    sim = simulator(0.0, train_seconds=3600)
    try:
        text, seeded, skipped = seed(sim, args.objects)
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "account.yaml"
            f.write_text(text)
            sim.set_faults(latency=args.latency)
            walls, processes, log = [], [], []
            for _ in range(args.runs):
                sim.reset_requests()
                run = run_cli(sim, "plan", str(f), "--format", "json")
                log = api_log(sim)
                walls.append(api_wall(log, args.latency))
                processes.append(run.wall)
                changes = json.loads(run.stdout or b"{}") if run.stdout.strip().startswith(b"{") else {}
        per = collections.Counter(_kind_of(r["path"]) for r in log)
        pages = math.ceil(args.objects / PAGE)
        print(f"plan over {args.objects:,} objects of each kind, {args.latency * 1000:.0f} ms latency a request")
        print(f"  kinds seeded: {', '.join(f'{k} {n:,}' for k, n in seeded.items())}")
        if skipped:
            print(f"  kinds not registered (skipped): {', '.join(skipped)}")
        for path, n in sorted(per.items()):
            print(f"  {path:<28} {n:>5} requests (minimum about {pages}: one listing, {PAGE} a page)")
        print(f"  total {len(log):,} requests; API wall {statistics.median(walls):.2f}s; "
              f"process {statistics.median(processes):.2f}s; plan summary: {changes.get('summary', '?')}")
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
