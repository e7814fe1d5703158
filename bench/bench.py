"""Benchmark: API requests and wall time of plan / apply / wait against the simulator, next to the minimum
possible, the ideal wall time and a naive client measured in the same run; then CPU figures.

    .venv/bin/python bench/bench.py [--latency 0.05] [--runs 3] [--quick]

Every scenario runs the real CLI (a subprocess) over real HTTP against a local simulator that adds
``--latency`` seconds to every API request. "API wall" is the time from the CLI's first API request to its
last answer (read from the simulator's request log); "process" adds interpreter start-up, file loading and
rendering. With ``--runs N`` every timed CLI scenario runs N times and the median is shown. Apply scenarios
must exit 0 (the bench stops otherwise: a failed apply is a bug, not a figure). Prints figures; asserts
nothing else. The rate-limited scenario's ideal is the limit's own time (creates / requests per second).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.sim.simulator import Simulator  # noqa: E402

KEY = "bench-key"
PAGE = 100


RUNS = 1
TREE = ROOT  # the source tree whose CLI runs (--before TREE: another checkout, e.g. main's, for a side-by-side)


@dataclass
class Run:
    """One CLI process: wall time, peak RSS (MB) and the time from its last output byte to its exit."""

    wall: float
    rss_mb: float
    teardown: float
    stdout: bytes = b""


def run_cli(sim: Simulator | None, *args: str, tree: Path | None = None, ok=(0, 2), **env: str) -> Run:
    """Run ``python -m reconciler ARGS`` from ``tree`` (default TREE), measured (wall, RSS, teardown)."""
    tree = tree or TREE
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    environ.update(NO_COLOR="1", PYTHONPATH=str(tree), **env)
    if sim is not None:
        environ.update(TAVUS_API_URL=sim.url, TAVUS_API_KEY=KEY)
    last = [0.0]
    chunks: list[bytes] = []

    def read(stream, keep: bool) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            last[0] = max(last[0], time.perf_counter())
            if keep:
                chunks.append(chunk)

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], env=environ, cwd=tree,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    readers = [threading.Thread(target=read, args=(proc.stdout, True)),
               threading.Thread(target=read, args=(proc.stderr, False))]
    for t in readers:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    ended = time.perf_counter()
    for t in readers:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        sys.exit(f"bench: `tavus-reconciler {' '.join(args)}` ({tree}) exited {proc.returncode}")
    return Run(ended - t0, usage.ru_maxrss / 1024, max(0.0, ended - last[0]) if last[0] else 0.0, b"".join(chunks))


# the CLI's peak RSS, read by a small launcher: a child forked straight from the bench (which holds the
# simulator's account) would report the bench's own RSS as its peak (Linux keeps the larger at exec)
_LAUNCH = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "reconciler", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
os.write(2, f"\\nbench-maxrss-kb={usage.ru_maxrss}\\n".encode())
os._exit(os.waitstatus_to_exitcode(status))"""


def peak_rss_mb(sim: Simulator, *args: str, tree: Path | None = None) -> float:
    tree = tree or TREE
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    environ.update(NO_COLOR="1", PYTHONPATH=str(tree), TAVUS_API_URL=sim.url, TAVUS_API_KEY=KEY)
    proc = subprocess.run([sys.executable, "-S", "-c", _LAUNCH, *args], env=environ, cwd=tree,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(proc.stderr.rsplit("bench-maxrss-kb=", 1)[1].split()[0]) / 1024


def cli(sim: Simulator, *args: str, **env: str) -> float:
    return run_cli(sim, *args, ok=(0,) if args[0] == "apply" else (0, 2), **env).wall


def api_log(sim: Simulator) -> list[dict]:
    return [r for r in sim.requests if r["path"].startswith("/v2/")]


def api_wall(log: list[dict], latency: float) -> float:
    times = [r["t"] for r in log]
    return max(times) - min(times) + latency if times else 0.0


def write_file(path: Path, names: list[str], video: str, prefix: str) -> str:
    lines = ["version: 1", "settings:", "  scope:", f'    name_prefix: "{prefix}"', "replicas:"]
    for n in names:
        lines += [f"  - name: {n}", f"    train_video_url: {video}", "    synthetic: true"]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def simulator(latency: float, **kw) -> Simulator:
    return Simulator(api_key=KEY, faults={"latency": latency}, max_page_size=PAGE, **kw).start()


def naive_http(sim: Simulator) -> httpx.Client:
    # keep-alive sized to the pool: httpcore 1.0 closes an "idle" connection that another thread has just been
    # given whenever the pool holds more connections than max_keepalive_connections (a ReadError)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    return httpx.Client(base_url=sim.url, headers={"x-api-key": KEY}, timeout=60, limits=limits)


# ------------------------------------------------------------------------------------------ scenarios


def bench_plan(tmp: Path, latency: float, remote: int, declared: int) -> list[tuple]:
    rows = []
    sim = simulator(latency, train_seconds=3600)
    try:
        for i in range(remote):
            sim.add_replica(replica_name=f"bench-{i:05d}", status="completed")
        f = write_file(tmp / "plan.yaml", [f"bench-{i:05d}" for i in range(declared)], sim.video_url("v.mp4"),
                       "bench-")
        pages = math.ceil(remote / PAGE)
        for label, env in (("plan (default: adaptive, up to 64 pages in flight)", {}),
                           ("plan (TAVUS_MAX_CONCURRENCY=128)", {"TAVUS_MAX_CONCURRENCY": "128"})):
            walls, processes = [], []
            for _ in range(RUNS):
                sim.reset_requests()
                processes.append(cli(sim, "plan", f, "--format", "json", **env))
                log = api_log(sim)
                walls.append(api_wall(log, latency))
            rows.append((f"{label}: {remote:,} remote, {declared:,} declared", len(log), pages,
                         statistics.median(walls), 2 * latency, statistics.median(processes)))
        sim.set_faults(latency=0.0)  # the same listing without network latency: what is left is CPU
        sim.reset_requests()
        process = cli(sim, "plan", f, "--format", "json")
        log = api_log(sim)
        rows.append(("plan at 0 ms latency (the client's CPU floor)", len(log), pages, api_wall(log, 0.0), 2 * latency,
                     process))
        sim.set_faults(latency=latency)
        sim.reset_requests()
        t0 = time.perf_counter()
        with naive_http(sim) as http:  # naive: read pages one after the other
            page, seen = 1, 0
            while True:
                data = http.get("/v2/replicas", params={"limit": PAGE, "page": page, "replica_type": "user"}).json()
                seen += len(data["data"])
                if not data["data"] or seen >= data["total_count"]:
                    break
                page += 1
        wall = time.perf_counter() - t0
        rows.append(("plan, naive (sequential pages)", len(api_log(sim)), pages, wall, 2 * latency, None))
    finally:
        sim.stop()
    return rows


def bench_apply(tmp: Path, latency: float, creates: int) -> list[tuple]:
    names = [f"apply-{i:04d}" for i in range(creates)]
    rows = []
    for label, flags in (("default: adaptive, ceiling 64", []), ("--parallelism 64", ["--parallelism", "64"]),
                         ("--parallelism 16", ["--parallelism", "16"])):
        walls, processes = [], []
        for _ in range(RUNS):
            sim = simulator(latency, train_seconds=3600)
            try:
                f = write_file(tmp / "apply.yaml", names, sim.video_url("v.mp4"), "apply-")
                processes.append(cli(sim, "apply", f, "--auto-approve", "--no-wait", "--skip-url-check", *flags))
                log = api_log(sim)
                assert sorted(r["replica_name"] for r in sim.replicas()) == names, "apply did not create each once"
                walls.append(api_wall(log, latency))
            finally:
                sim.stop()
        # ideal: one listing of the (empty) account, then the creates 16 at a time
        rows.append((f"apply: {creates} creates, {label} ({RUNS} run(s), all exit 0)", len(log), creates + 1,
                     statistics.median(walls), (math.ceil(creates / 16) + 1) * latency,
                     statistics.median(processes)))
    sim2 = simulator(latency, train_seconds=3600)
    try:
        t0 = time.perf_counter()
        with naive_http(sim2) as http:  # naive: list, then one create after the other
            http.get("/v2/replicas", params={"limit": PAGE, "page": 1, "replica_type": "user"})
            for n in names:
                http.post("/v2/replicas", json={"replica_name": n, "train_video_url": sim2.video_url("v.mp4")})
        rows.append(("apply, naive (sequential creates)", len(api_log(sim2)), creates + 1,
                     time.perf_counter() - t0, (math.ceil(creates / 16) + 1) * latency, None))
    finally:
        sim2.stop()
    return rows


def bench_rate_limited(tmp: Path, latency: float, creates: int, rps: float) -> tuple[list[tuple], str]:
    """Apply against a server allowing ``rps`` requests/s (token bucket, 429 + Retry-After beyond it)."""
    names = [f"rl-{i:04d}" for i in range(creates)]
    ideal = max(latency, (creates + 1 - rps) / rps)  # the bucket starts full: rps requests at once, then rps/s
    rows, shares = [], []
    walls, processes = [], []
    for _ in range(RUNS):
        sim = simulator(latency, train_seconds=3600)
        try:
            sim.set_faults(latency=latency, rate_limit_rps=rps)
            f = write_file(tmp / "rl.yaml", names, sim.video_url("v.mp4"), "rl-")
            processes.append(cli(sim, "apply", f, "--auto-approve", "--no-wait", "--skip-url-check",
                                 TAVUS_RETRY_MAX_ATTEMPTS="30", TAVUS_RETRY_BUDGET_SECONDS="300"))
            log = api_log(sim)
            assert sorted(r["replica_name"] for r in sim.replicas()) == names, "apply did not create each once"
            walls.append(api_wall(log, latency))
            shares.append(sum(r["status"] == 429 for r in log) / len(log))
        finally:
            sim.stop()
    rows.append((f"apply: {creates} creates, server limited to {rps:g} req/s (adaptive, ceiling 64)", len(log),
                 creates + 1, statistics.median(walls), ideal, statistics.median(processes)))
    sim = simulator(latency, train_seconds=3600)
    try:  # naive: fixed 64 in flight, each 429 retried after its Retry-After
        sim.set_faults(latency=latency, rate_limit_rps=rps)
        from concurrent.futures import ThreadPoolExecutor

        def create(n: str, http: httpx.Client) -> None:
            while True:
                resp = http.post("/v2/replicas", json={"replica_name": n, "train_video_url": sim.video_url("v.mp4")})
                if resp.status_code != 429:
                    return
                time.sleep(float(resp.headers.get("retry-after", "1")))

        t0 = time.perf_counter()
        with naive_http(sim) as http, ThreadPoolExecutor(64) as pool:
            list(pool.map(lambda n: create(n, http), names))
        log = api_log(sim)
        naive_share = sum(r["status"] == 429 for r in log) / len(log)
        rows.append(("apply, naive (fixed 64 in flight, retry on 429)", len(log), creates + 1,
                     time.perf_counter() - t0, ideal, None))
    finally:
        sim.stop()
    note = (f"rate-limited apply: 429s were {statistics.median(shares):.0%} of requests (median), the naive "
            f"client's {naive_share:.0%}; ideal = the limit's own time: {creates} creates + 1 listing, the first "
            f"{rps:g} at once (a full bucket), then {rps:g} per second.")
    return rows, note


def polls_in(log: list[dict], gap: float) -> int:
    times = sorted(r["t"] for r in log)
    return sum(1 for a, b in zip([-math.inf, *times], times, strict=False) if b - a > gap)


def bench_wait(tmp: Path, latency: float, replicas: int, train: float, poll: float) -> list[tuple]:
    rows = []
    sim = simulator(latency, train_seconds=train)
    try:
        names = [f"wait-{i:04d}" for i in range(replicas)]
        f = write_file(tmp / "wait.yaml", names, sim.video_url("v.mp4"), "wait-")
        for n in names:
            sim.add_replica(replica_name=n, status="started")
        trained_at = time.time() + train  # when the last one finishes training
        process = cli(sim, "wait", f, "--poll-interval", str(poll), "--timeout", "10m")
        log = api_log(sim)
        polls = [r for r in log if "replica_ids" in r.get("query", {})]
        n_polls = polls_in(polls, poll / 2)
        per_poll = math.ceil(replicas / PAGE)
        ideal = trained_at - min(r["t"] for r in log) + latency  # from the first request to the last completion
        rows.append((f"wait: {replicas:,} training, per poll ({n_polls} polls)", len(polls) / max(1, n_polls),
                     per_poll, api_wall(log, latency), max(ideal, latency), process))
    finally:
        sim.stop()
    sim = simulator(latency, train_seconds=train)
    try:
        ids = [sim.add_replica(replica_name=f"wait-{i:04d}", status="started")["replica_id"] for i in range(replicas)]
        t0 = time.perf_counter()
        rounds = 0
        with naive_http(sim) as http:  # naive: GET every pending replica, every poll
            pending = list(ids)
            while pending:
                rounds += 1
                pending = [i for i in pending if http.get(f"/v2/replicas/{i}").json()["status"] != "completed"]
                if pending:
                    time.sleep(poll)
        rows.append((f"wait, naive (GET per replica; {rounds} polls)", len(api_log(sim)) / rounds, per_poll,
                     time.perf_counter() - t0, train + latency, None))
    finally:
        sim.stop()
    return rows


def _import_ms(module: str) -> float:
    """Cumulative import time of ``module`` in a fresh interpreter (median of 5, ms), from -X importtime."""
    values = []
    for _ in range(5):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                             text=True, check=True).stderr
        values.append(int(err.strip().splitlines()[-1].split("|")[1]) / 1000)
    return statistics.median(values)


def bench_render(n: int) -> list[tuple[str, float, str]]:
    from reconciler.engine.models import Config, Settings
    from reconciler.engine.planner import compute_plan
    from reconciler.kinds.replicas.models import RemoteReplica
    from reconciler.kinds.replicas.resolve import status_rows
    from reconciler.views import render

    remote = [RemoteReplica(f"r{i:010x}", f"u-{i:05d}", status="completed", model_name="phoenix-4")
              for i in range(n)]
    config = Config("bench.yaml", replicas=(), settings=Settings(name_prefix="u-"))
    plan = compute_plan(config, remote)
    rows = status_rows(config, remote)
    return [
        (f"render plan text, {n:,} unmanaged lines (median of 5)",
         statistics.median(_timed(lambda: render.plan_text(plan, file="bench.yaml")) for _ in range(5)), "< 0.2 s"),
        (f"render plan markdown (PR comment), {n:,} unmanaged lines (median of 5)",
         statistics.median(_timed(lambda: render.plan_markdown(plan, file="bench.yaml")) for _ in range(5)),
         "< 0.3 s"),
        (f"render status table, {n:,} unmanaged lines (median of 5)",
         statistics.median(_timed(lambda: render.status_text(rows)) for _ in range(5)), "< 0.5 s"),
    ]


def bench_cpu(tmp: Path, n: int) -> list[tuple[str, float, str]]:
    from reconciler.engine.config import load_config
    from reconciler.engine.models import Config, Settings
    from reconciler.engine.planner import compute_plan
    from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica

    desired = tuple(DesiredReplica(f"cpu-{i:05d}", train_video_url=f"https://v/{i}.mp4", synthetic=True)
                    for i in range(n))
    config = Config("bench.yaml", replicas=desired, settings=Settings(name_prefix="cpu-"))
    remote = [RemoteReplica(f"r{i:010x}", f"cpu-{i + n // 2:05d}", status="completed", model_name="phoenix-4")
              for i in range(n)]
    plan_s = min(_timed(lambda: compute_plan(config, remote)) for _ in range(3))
    f = write_file(tmp / "cpu.yaml", [d.name for d in desired], "https://videos.example.com/v.mp4", "cpu-")
    load_s = min(_timed(lambda: load_config(f)) for _ in range(3))
    validate_s = min(_timed(lambda: subprocess.run([sys.executable, "-m", "reconciler", "validate", f],
                                                   capture_output=True, check=True)) for _ in range(3))
    help_s = statistics.median(_timed(lambda: subprocess.run([sys.executable, "-m", "reconciler", "--help"],
                                                             capture_output=True, check=True)) for _ in range(7))
    python_s = statistics.median(_timed(lambda: subprocess.run([sys.executable, "-c", "pass"], capture_output=True))
                                 for _ in range(7))
    return [
        (f"plan {n:,} declared x {n:,} remote (in process)", plan_s, "< 0.5 s"),
        (f"load + validate a {n:,}-replica file (in process)", load_s, "< 2 s"),
        (f"`validate` of a {n:,}-replica file (whole CLI process)", validate_s, "< 2 s"),
        ("`tavus-reconciler --help` cold start (median of 7)", help_s, "< 0.3 s"),
        ("  for reference: `python -c pass` (median of 7)", python_s, ""),
        ("import reconciler.cli (what `--help` loads; median of 5)", _import_ms("reconciler.cli") / 1000, "no httpx"),
        ("import reconciler.engine.config (jsonschema loads only to validate)",
         _import_ms("reconciler.engine.config") / 1000, ""),
        ("import reconciler.api.client (httpx: commands that call the API)",
         _import_ms("reconciler.api.client") / 1000, ""),
        ("import reconciler.views.render (no deepdiff)", _import_ms("reconciler.views.render") / 1000, ""),
    ]


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------------------ issue 29 targets

# what `validate` competes with: the obvious script (yaml.safe_load + jsonschema.validate)
_NAIVE_VALIDATE = """import json, sys, yaml, jsonschema
doc = yaml.safe_load(open(sys.argv[1]))
jsonschema.validate(doc, json.load(open("schemas/replicas.schema.json")))"""

# the render figures, run in a process of the tree measured (so --before times the old renderers)
_RENDER = """import statistics, sys, time
from reconciler.views import render
from reconciler.engine.models import Config, Settings
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.engine.planner import compute_plan
from reconciler.kinds.replicas.resolve import status_rows
n = int(sys.argv[1])
remote = [RemoteReplica(f"r{i:010x}", f"u-{i:05d}", status="completed", model_name="phoenix-4") for i in range(n)]
config = Config("bench.yaml", replicas=(), settings=Settings(name_prefix="u-"))
plan = compute_plan(config, remote)
rows = status_rows(config, remote)
def timed(fn):
    t0 = time.perf_counter(); fn(); return time.perf_counter() - t0
print(statistics.median(timed(lambda: render.plan_markdown(plan, file="bench.yaml")) for _ in range(5)),
      statistics.median(timed(lambda: render.status_text(rows)) for _ in range(5)))"""


@dataclass
class Target:
    """One line of the targets table: a figure, its bound (the physical limit or the issue's target), and the
    same figure for the --before tree and for a naive client, when measured."""

    name: str
    bound: float
    unit: str  # "s", "RTT" (round trips of the simulated latency), "MB", "ms", "x"
    after: float
    before: float | None = None
    naive: float | None = None
    note: str = ""


def _median_runs(trees: list[Path], fn) -> dict[Path, list]:
    """``fn(tree)`` RUNS times per tree, the trees interleaved (a busy machine slows both alike)."""
    out: dict[Path, list] = {t: [] for t in trees}
    for _ in range(RUNS):
        for t in trees:
            out[t].append(fn(t))
    return out


def _med(values) -> float:
    return statistics.median(values)


def naive_listing(sim: Simulator, parallel: bool) -> float:
    """A plain httpx client: pages one after the other, or page 1 and then every other page at once."""
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    with naive_http(sim) as http:
        first = http.get("/v2/replicas", params={"limit": PAGE, "page": 1, "replica_type": "user"}).json()
        pages = range(2, math.ceil(first["total_count"] / PAGE) + 1)
        get = lambda p: http.get("/v2/replicas", params={"limit": PAGE, "page": p, "replica_type": "user"})  # noqa: E731
        if parallel:
            with ThreadPoolExecutor(64) as pool:
                list(pool.map(get, pages))
        else:
            for p in pages:
                get(p)
    return time.perf_counter() - t0


def target_plan(tmp: Path, trees: list[Path], latency: float, remote: int, declared: int,
                sequential: bool = True) -> dict:
    """plan --format json over ``remote`` replicas, ``declared`` in the file: per tree the medians of process
    wall, API wall (in round trips), requests, RSS and teardown; plus the naive clients' listing."""
    sim = simulator(latency, train_seconds=3600)
    try:
        for i in range(remote):
            sim.add_replica(replica_name=f"bench-{i:06d}", status="completed")
        f = write_file(tmp / "plan.yaml", [f"bench-{i:06d}" for i in range(declared)], sim.video_url("v.mp4"),
                       "bench-")

        def one(tree: Path) -> tuple:
            sim.reset_requests()
            run = run_cli(sim, "plan", f, "--format", "json", tree=tree)
            log = api_log(sim)
            run.rss_mb = peak_rss_mb(sim, "plan", f, "--format", "json", tree=tree)
            return run, len(log), api_wall(log, latency) / latency

        runs = _median_runs(trees, one)
        out = {t: {"wall": _med(r[0].wall for r in rs), "rss": _med(r[0].rss_mb for r in rs),
                   "teardown": _med(r[0].teardown for r in rs), "requests": rs[-1][1],
                   "rtt": _med(r[2] for r in rs)} for t, rs in runs.items()}
        sim.reset_requests()
        out["naive"] = naive_listing(sim, parallel=False) / latency if sequential else None
        out["naive parallel"] = _med(naive_listing(sim, parallel=True) for _ in range(RUNS)) / latency
        out["pages"] = math.ceil(remote / PAGE)
        return out
    finally:
        sim.stop()


def target_apply(tmp: Path, trees: list[Path], latency: float, creates: int) -> dict:
    """apply --auto-approve --no-wait of ``creates`` new replicas: API wall, requests; and a plain client with
    64 creates in flight (the reference)."""
    names = [f"apply-{i:05d}" for i in range(creates)]

    def one(tree: Path) -> tuple:
        sim = simulator(latency, train_seconds=3600)
        try:
            f = write_file(tmp / "apply.yaml", names, sim.video_url("v.mp4"), "apply-")
            run = run_cli(sim, "apply", f, "--auto-approve", "--no-wait", "--skip-url-check", tree=tree, ok=(0,))
            assert sorted(r["replica_name"] for r in sim.replicas()) == names, "apply did not create each once"
            log = api_log(sim)
            return run.wall, api_wall(log, latency), len(log)
        finally:
            sim.stop()

    runs = _median_runs(trees, one)
    out: dict = {t: {"wall": _med(r[0] for r in rs), "api": _med(r[1] for r in rs), "requests": rs[-1][2]}
                 for t, rs in runs.items()}
    from concurrent.futures import ThreadPoolExecutor

    sim = simulator(latency, train_seconds=3600)
    try:
        t0 = time.perf_counter()
        with naive_http(sim) as http, ThreadPoolExecutor(64) as pool:
            http.get("/v2/replicas", params={"limit": PAGE, "page": 1, "replica_type": "user"})
            list(pool.map(lambda n: http.post("/v2/replicas", json={"replica_name": n,
                                                                    "train_video_url": sim.video_url("v.mp4")}),
                          names))
        out["naive 64"] = time.perf_counter() - t0
    finally:
        sim.stop()
    out["ideal 64"] = (math.ceil(creates / 64) + 1) * latency
    return out


def target_validate(tmp: Path, trees: list[Path], n: int) -> dict:
    f = write_file(tmp / "validate.yaml", [f"cpu-{i:05d}" for i in range(n)], "https://videos.example.com/v.mp4",
                   "cpu-")
    out: dict = {t: _med(rs) for t, rs in _median_runs(trees, lambda t: run_cli(None, "validate", f, tree=t,
                                                                                 ok=(0,)).wall).items()}
    out["naive"] = _med(_timed(lambda: subprocess.run([sys.executable, "-c", _NAIVE_VALIDATE, f], cwd=ROOT,
                                                      check=True, capture_output=True)) for _ in range(RUNS))
    return out


def target_render(trees: list[Path], n: int) -> dict:
    out = {}
    for t in trees:
        proc = subprocess.run([sys.executable, "-c", _RENDER, str(n)], cwd=t, env={**os.environ, "PYTHONPATH": str(t)},
                              capture_output=True, text=True, check=True)
        out[t] = tuple(float(x) for x in proc.stdout.split())
    return out


def targets(tmp: Path, latency: float, before: Path | None, only: set[str]) -> list[Target]:
    trees = [TREE] + ([before] if before else [])
    b = (lambda d: d[before]) if before else (lambda d: None)
    a = lambda d: d[TREE]  # noqa: E731
    get = lambda d, k: None if d is None else d[k]  # noqa: E731
    rows: list[Target] = []
    if "plan" in only:
        p = target_plan(tmp, trees, latency, 10_000, 2_000)
        pb = b(p)
        rows += [
            Target(f"listing of {p['pages']} pages at {latency * 1000:.0f} ms", 2.5, "RTT", a(p)["rtt"],
                   get(pb, "rtt"), p["naive"], f"naive: sequential; page 1 then 99 at once: {p['naive parallel']:.1f}"),
            Target("`plan` 10,000 remote / 2,000 declared, process wall", 0.7, "s", a(p)["wall"], get(pb, "wall")),
            Target("  requests (the minimum: 100 pages)", 100, "", a(p)["requests"], get(pb, "requests")),
            Target("  after the last line until exit", 20, "ms", a(p)["teardown"] * 1000,
                   None if pb is None else pb["teardown"] * 1000),
        ]
    if "plan200" in only:
        slow = 0.2
        p = target_plan(tmp, trees, slow, 10_000, 2_000)
        pb = b(p)
        rows.append(Target(f"listing of {p['pages']} pages at {slow * 1000:.0f} ms", 2.5, "RTT", a(p)["rtt"],
                           get(pb, "rtt"), p["naive"], f"page 1 then 99 at once: {p['naive parallel']:.1f}"))
    if "plan100k" in only:
        p = target_plan(tmp, trees, latency, 100_000, 2_000, sequential=False)
        pb = b(p)
        rows += [
            Target("`plan` 100,000 remote / 2,000 declared, process wall", 2.5, "s", a(p)["wall"], get(pb, "wall"),
                   p["pages"] * latency, "naive: pages one after the other would take this long for the listing"),
            Target("  its peak RSS", 100, "MB", a(p)["rss"], get(pb, "rss")),
            Target(f"  its listing of {p['pages']} pages (round trips)", math.ceil(p["pages"] / 64) + 1.5, "RTT",
                   a(p)["rtt"], get(pb, "rtt"), p["naive"], f"page 1 then the rest, 64 at a time: "
                   f"{p['naive parallel']:.1f}"),
        ]
    if "validate" in only:
        v = target_validate(tmp, trees, 10_000)
        rows.append(Target("`validate` of a 10,000-entry file, process wall", 0.6, "s", a(v), b(v), v["naive"],
                           "naive: yaml.safe_load + jsonschema.validate"))
    if "apply" in only:
        ap = target_apply(tmp, trees, latency, 2_000)
        apb = b(ap)
        rows += [
            Target("`apply` 2,000 creates, API wall / 64 in flight", 1.5, "x", a(ap)["api"] / ap["ideal 64"],
                   None if apb is None else apb["api"] / ap["ideal 64"], ap["naive 64"] / ap["ideal 64"],
                   f"64 in flight ideally {ap['ideal 64']:.2f} s; naive: a plain client, 64 threads"),
            Target("  requests (the minimum: 2,000 creates + 1 listing + 20 pages re-read after)", 2021, "",
                   a(ap)["requests"], get(apb, "requests")),
        ]
    if "render" in only:
        r = target_render(trees, 49_000)
        rb = b(r)
        rows += [
            Target("`plan --format markdown` render, 49,000 unmanaged lines", 0.2, "s", a(r)[0],
                   None if rb is None else rb[0]),
            Target("`status` render, 49,000 unmanaged lines", 0.2, "s", a(r)[1], None if rb is None else rb[1]),
        ]
    return rows


def print_targets(rows: list[Target], before: Path | None) -> None:
    def fmt(v: float | None, unit: str) -> str:
        if v is None:
            return "-"
        if unit == "":
            return f"{v:,.0f}"
        if unit in ("MB", "ms"):
            return f"{v:,.0f} {unit}"
        return f"{v:.2f} {unit}" if unit != "RTT" else f"{v:.1f} RTT"

    head = ["figure", "bound"] + (["before"] if before else []) + ["now", "now / bound", "naive", "note"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for t in rows:
        cells = [t.name, fmt(t.bound, t.unit)] + ([fmt(t.before, t.unit)] if before else [])
        ratio = f"{t.after / t.bound:.2f}" if t.bound else "-"
        cells += [fmt(t.after, t.unit), ratio, fmt(t.naive, t.unit), t.note]
        print("| " + " | ".join(cells) + " |")


# ------------------------------------------------------------------------------------------ report


SCENARIOS = ("plan", "plan200", "plan100k", "validate", "apply", "render")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to every API request (50 ms)")
    ap.add_argument("--runs", type=int, default=1, help="runs per timed CLI scenario (the median is shown)")
    ap.add_argument("--rate", type=float, default=100.0, help="requests/s of the rate-limited server")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke run)")
    ap.add_argument("--targets", metavar="LIST", nargs="?", const=",".join(SCENARIOS),
                    help="only the issue-29 targets table (markdown: the README's): comma-separated scenarios "
                         f"of {', '.join(SCENARIOS)} (default all)")
    ap.add_argument("--before", metavar="TREE", type=Path,
                    help="also run the CLI of another checkout (e.g. main's), interleaved, for a before column")
    ap.add_argument("--tree", metavar="TREE", type=Path, default=ROOT,
                    help="the checkout whose CLI runs (default: this one)")
    a = ap.parse_args()
    q = a.quick
    global RUNS, TREE
    RUNS = max(1, a.runs)
    TREE = a.tree.resolve()
    if a.targets is not None:
        only = {s.strip() for s in a.targets.split(",") if s.strip()}
        unknown = only - set(SCENARIOS)
        if unknown:
            ap.error(f"unknown scenario(s) {', '.join(sorted(unknown))}: pick from {', '.join(SCENARIOS)}")
        before = a.before.resolve() if a.before else None
        with tempfile.TemporaryDirectory() as d:
            print(f"Simulator latency {a.latency * 1000:.0f} ms per API request, page size {PAGE}, median of "
                  f"{RUNS} run(s){f'; before = {before}' if before else ''}.\n", flush=True)
            print_targets(targets(Path(d), a.latency, before, only), before)
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(f"Simulator latency {a.latency * 1000:.0f} ms per API request, page size {PAGE}.\n", flush=True)
        rows = bench_plan(tmp, a.latency, 1000 if q else 10_000, 200 if q else 2_000)
        rows += bench_apply(tmp, a.latency, 50 if q else 500)
        limited, note = bench_rate_limited(tmp, a.latency, 100 if q else 500, a.rate / 4 if q else a.rate)
        rows += limited
        rows += bench_wait(tmp, a.latency, 100 if q else 1_000, 3.0 if q else 6.0, 1.0)
        head = ("scenario", "requests made", "minimum possible", "API wall", "ideal wall", "ratio", "process")
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for name, made, minimum, wall, ideal, process in rows:
            made_s = f"{made:,.1f}" if isinstance(made, float) and not made.is_integer() else f"{int(made):,}"
            print(f"| {name} | {made_s} | {minimum:,} | {wall:.2f} s | {ideal:.2f} s | {wall / ideal:.2f}x | "
                  f"{f'{process:.2f} s' if process is not None else '-'} |")
        floor = next(r for r in rows if r[0].startswith("plan at 0 ms"))[3]
        net = rows[0][3] - floor
        print(f"\nplan: latency adds {net:.2f} s over the 0 ms CPU floor ({net / a.latency:.1f} round trips for "
              f"{rows[0][1]} pages; ideal 2, naive {rows[0][1]}). The floor is Python CPU in the client and the "
              "simulator (JSON, HTTP parsing), on the same machine.")
        print(f"\n{note}")
        print("\n| CPU | time | target |\n|---|---|---|")
        for name, seconds, target in bench_cpu(tmp, 1000 if q else 10_000) + bench_render(4900 if q else 49_000):
            print(f"| {name} | {seconds:.3f} s | {target} |")


if __name__ == "__main__":
    main()
