"""simulator, demo: the local Tavus simulator, and the tour that runs the tool against it."""

from __future__ import annotations

import os
import sys

import click

from reconciler.cli.console import echo, err
from reconciler.exitcodes import EXIT_OK


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True, help="0 picks a free port.")
@click.option("--train-seconds", type=float, default=60.0, show_default=True, help="How long training takes.")
@click.option("--finetune-seconds", type=float, default=0.0, show_default=True,
              help="How long a phoenix-4.5 replica stays a watermarked preview after training (its fine-tune).")
@click.option("--api-key", default="sim-key", show_default=True, help="The key clients must send.")
@click.option("--seed", "seed", type=click.Path(exists=True, dir_okay=False),
              help="JSON or YAML list of replicas to start with.")
@click.option("--page-size", type=int, default=100, show_default=True, help="Largest page the server returns.")
@click.option("--fault-rate-limit", type=float, default=0.0, help="Share of API requests answered 429.")
@click.option("--rate-limit-rps", type=float, default=0.0,
              help="Allow N API requests/s (token bucket); the others get 429 with Retry-After.")
@click.option("--fault-server-error", type=float, default=0.0, help="Share of API requests answered 5xx.")
@click.option("--fault-latency", type=float, default=0.0, help="Seconds added to every API request.")
@click.option("--fault-drop-create", type=float, default=0.0,
              help="Share of creates performed but answered with a dropped connection.")
def simulator(host, port, train_seconds, finetune_seconds, api_key, seed, page_size, fault_rate_limit,
              rate_limit_rps, fault_server_error, fault_latency, fault_drop_create) -> int:
    """Run a local Tavus API simulator (for trying the tool and for CI tests).

    Serves /v2/replicas like the real API, with training that progresses over --train-seconds, a
    training failure for URLs containing "fail", fake media under /media/NAME, and fault injection
    (also at run time: POST /_sim/faults). Control endpoints: GET /_sim/requests.

    \b
    Example:
      tavus-reconciler simulator --port 8080 --train-seconds 30 &
      TAVUS_API_URL=http://127.0.0.1:8080 TAVUS_API_KEY=sim-key tavus-reconciler plan replicas.yaml
    """
    from reconciler.sim.simulator import serve_forever

    faults = {"rate_limit": fault_rate_limit, "rate_limit_rps": rate_limit_rps, "server_error": fault_server_error,
              "latency": fault_latency, "drop_create_response": fault_drop_create}
    serve_forever(host=host, port=port, train_seconds=train_seconds, api_key=api_key, seed_file=seed,
                  max_page_size=page_size, faults={k: v for k, v in faults.items() if v},
                  finetune_seconds=finetune_seconds)
    return EXIT_OK


def _example(name: str) -> str:
    """The text of an example shipped inside the package (``examples/`` in the repository)."""
    import importlib.resources

    return importlib.resources.files("reconciler.examples").joinpath(name).read_text(encoding="utf-8")


def _demo_edit(file: str, cwd: str | None, tmp: str) -> tuple[str, str] | None:
    """The demo's second act: a copy of ``file`` in the scratch folder ``tmp`` whose first persona has one more
    line in its system prompt (inline in the copy; other prompt files referenced by absolute path), so plan
    shows an update in place and apply sends one PATCH. -> (persona name, the copy's name in ``tmp``), or None
    when the file declares no persona. The file and its prompt files are only read, never changed."""
    import yaml

    base = os.path.dirname(os.path.join(cwd or os.getcwd(), file))
    try:
        with open(os.path.join(cwd or "", file), encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        personas = doc.get("personas") if isinstance(doc, dict) else None
        if not isinstance(personas, list) or not personas or not all(isinstance(p, dict) for p in personas):
            return None
        for p in personas:
            if isinstance(p.get("system_prompt_file"), str):
                p["system_prompt_file"] = os.path.abspath(os.path.join(base, p["system_prompt_file"]))
        first = personas[0]
        if isinstance(first.get("system_prompt_file"), str):
            with open(first.pop("system_prompt_file"), encoding="utf-8") as f:
                first["system_prompt"] = f.read()
        line = "- Keep every answer under two minutes."
        if isinstance(first.get("system_prompt"), str):
            first["system_prompt"] = first["system_prompt"].rstrip("\n") + "\n" + line + "\n"
        else:  # pipeline_mode: echo, no prompt: the context changes instead
            first["context"] = f"{first.get('context') or ''} {line}".strip()
        copy = os.path.splitext(os.path.basename(file))[0] + ".edited.yaml"
        with open(os.path.join(tmp, copy), "x", encoding="utf-8") as f:
            yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError, TypeError):
        return None  # the plan of the file itself has already said what is wrong with it
    return str(first.get("name")), copy


@click.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--train-seconds", type=float, default=12.0, show_default=True, help="Simulated training time.")
def demo(file, train_seconds) -> int:
    """Run plan, apply and status of FILE against a built-in local Tavus simulator.

    When FILE declares personas, the first one is then edited in a copy (one more prompt line) and plan and
    apply run on the copy: an update in place, sent as one PATCH. FILE itself is never changed.
    Without FILE, the example replicas file shipped with the tool is used (works from any directory).
    Nothing leaves this machine: the simulator listens on 127.0.0.1 and trains in seconds.

    \b
    Example:
      tavus-reconciler demo
      tavus-reconciler demo examples/replicas.yaml
    """
    import subprocess
    import tempfile

    import yaml

    from reconciler.sim.simulator import Simulator

    seed = yaml.safe_load(_example("simulator-seed.yaml"))
    with tempfile.TemporaryDirectory(prefix="tavus-demo-") as tmp, \
            Simulator(train_seconds=train_seconds, seed=seed) as sim:
        cwd = None
        if file is None:  # the packaged example, under its usual name in a scratch directory
            file, cwd = "replicas.yaml", tmp
            with open(os.path.join(tmp, file), "w", encoding="utf-8") as f:
                f.write(_example("replicas.yaml"))
            os.mkdir(os.path.join(tmp, "prompts"))  # the example's system_prompt_file
            with open(os.path.join(tmp, "prompts", "interviewer.md"), "w", encoding="utf-8") as f:
                f.write(_example("prompts/interviewer.md"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
        env.update(TAVUS_API_URL=sim.url, TAVUS_API_KEY="sim-key", VIDEO_BASE_URL=f"{sim.url}/media",
                   ANNA_TRAIN_URL=sim.video_url("anna-train.mp4") + "?X-Amz-Signature=demo-secret-signature")
        echo(f"A local Tavus simulator is running at {sim.url}\n(training takes {train_seconds:g}s here, "
             "hours on Tavus).\n")
        steps = [("plan", file), ("apply", file, "--auto-approve", "--poll-interval", "1s")]
        edited = _demo_edit(file, cwd, tmp)  # then a persona edited in a copy: plan shows the update, apply PATCHes
        if edited is not None:
            name, copy = edited
            steps += [f"# edit persona {name} in a copy ({copy}):\n$ # one line added to its system prompt",
                      ("plan", copy), ("apply", copy, "--auto-approve", "--poll-interval", "1s")]
        steps.append(("status", file))
        for args in steps:
            if isinstance(args, str):
                echo(click.style(f"$ {args}", bold=True) + "\n")
                continue
            echo(click.style(f"$ tavus-reconciler {' '.join(args)}", bold=True))
            on_copy = edited is not None and args[1] == edited[1]  # the copy lives in the scratch folder
            code = subprocess.call([sys.executable, "-m", "reconciler", *args], env=env, cwd=tmp if on_copy else cwd)
            echo()
            if code != 0:
                err(f"demo: `tavus-reconciler {' '.join(args)}` exited {code}")
                return code
    echo("Demo complete. Next: point TAVUS_API_KEY at your account and run\n`tavus-reconciler plan` on your file.")
    return EXIT_OK

