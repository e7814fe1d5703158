"""The file a command reads and the API client it talks to: the client built in a thread while the file is read
and validated (:class:`ClientSoon`); the file's warnings, one line each."""

from __future__ import annotations

import os
import re
import threading

import click

from reconciler.cli.console import err
from reconciler.errors import UsageError


def api_client(ctx: click.Context):
    return client_for(ctx.obj["api_url"])


class ClientSoon:
    """The API client, built in a thread while the file is read and validated (importing httpx and building its
    TLS context take about as long as reading a large file). Its errors (no API key, a bad URL) are raised by
    :meth:`get`, after the file's own: what a user sees, and in which order, is unchanged."""

    def __init__(self, ctx: click.Context):
        from reconciler.api.redact import register_secret

        # registered here, before the thread starts: the file's warnings are being redacted meanwhile
        register_secret(os.environ.get("TAVUS_API_KEY", "").strip())
        self._api_url = ctx.obj["api_url"]
        self._client = self._error = None
        self._thread = threading.Thread(target=self._build, name="client-init", daemon=True)
        self._thread.start()
        PENDING.append(self)

    def _build(self) -> None:
        try:
            self._client = client_for(self._api_url)
        except BaseException as e:  # noqa: BLE001 - raised by get(), in the command's thread
            self._error = e

    def get(self):
        """The client (the caller closes it), or the error building it raised."""
        if self in PENDING:
            PENDING.remove(self)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._client

    def discard(self) -> None:
        self._thread.join()
        if self._client is not None:
            self._client.close()


PENDING: list[ClientSoon] = []  # built but never taken (the file was refused): main() closes them


def load_with_client(ctx: click.Context, file: str, policy_file: str | None = None):
    """(config, client): the file loaded while the client is built (see :class:`ClientSoon`)."""
    soon = ClientSoon(ctx)
    config = load(file, policy_file)
    return config, soon.get()


def client_for(api_url: str | None):
    from reconciler.api.client import TavusClient

    return TavusClient.from_env(api_url=api_url)


def load(path: str, policy_file: str | None = None):
    from reconciler.engine import planfile
    from reconciler.engine.config import load_config

    if planfile.is_planfile(path):
        raise UsageError(f"{path} is a saved plan, not a replicas file: look at it with `tavus-reconciler show "
                         f"{path}` or carry it out with `tavus-reconciler apply {path}`")

    config = load_config(path, policy=policy_rules(policy_file))
    names = {d.name for d in config.replicas} | {d.name for d in config.personas}
    for w in _merge_warnings(config.warnings, names):
        err(f"warning: {w}")
    return config


_LABELLED = re.compile(r"^(.*?:\d+:\d+: )(.+?): (.*)$", re.S)


def _merge_warnings(warnings, names: set[str]) -> list[str]:
    """One line per warning: a value that several entries inherit (a ``defaults:`` line) is warned about once,
    naming the entries, not once per entry ("FILE:L:C: acme-a: ..." for each of five replicas)."""
    merged: dict[tuple[str, str], list[str]] = {}
    for w in warnings:
        m = _LABELLED.match(w)
        key, who = ((m.group(1), m.group(3)), m.group(2)) if m and m.group(2) in names else ((w, ""), "")
        merged.setdefault(key, []).append(who)
    out = []
    for (where, rest), whos in merged.items():
        whos = [w for w in whos if w]
        if len(whos) <= 1:
            out.append(f"{where}{whos[0]}: {rest}" if whos else where)
        else:
            shown = ", ".join(whos[:3]) + (f" and {len(whos) - 3} more" if len(whos) > 3 else "")
            out.append(f"{where}{rest} (for {shown})")
    return out


def policy_rules(policy_file: str | None) -> tuple:
    """The rules of ``--policy FILE`` (issue 28), or none."""
    if not policy_file:
        return ()
    from reconciler.engine.policyfile import load_file

    return tuple(load_file(policy_file))

