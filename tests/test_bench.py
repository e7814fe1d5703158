"""bench/bench.py's in-process code and the snippets it runs in the tree it measures, at a tiny size: the
benchmark is a script that prints figures (never a timed assert), but the code it runs must keep up with the
product's API (a renamed or re-shaped model broke its render figures once)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench():
    spec = importlib.util.spec_from_file_location("bench_script", ROOT / "bench" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_script", module)  # its dataclasses look their module up
    spec.loader.exec_module(sys.modules["bench_script"])
    return sys.modules["bench_script"]


def test_the_render_snippet_runs_in_the_tree_and_prints_two_figures():
    proc = subprocess.run([sys.executable, "-c", bench()._RENDER, "30"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [float(x) >= 0 for x in proc.stdout.split()] == [True, True]


def test_the_in_process_render_figures_run():
    rows = bench().bench_render(30)
    assert [label.split(",")[0] for label, _s, _bound in rows] == [
        "render plan text", "render plan markdown (PR comment)", "render status table"]
