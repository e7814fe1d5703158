"""reconciler.cli.loading: the client built while the file is read; the file's warnings, one line each."""

from __future__ import annotations

import pytest

from reconciler.cli import cli
from reconciler.cli.loading import _merge_warnings


def test_the_client_is_built_while_the_file_is_read_and_its_errors_come_after_the_files(monkeypatch):
    """Issue 29: the client (httpx, its TLS context) is built in a thread while the file is loaded; an error
    building it (no API key) is raised only after the file's own errors, as before."""
    import threading

    import click

    from reconciler.cli import loading as cli_module
    from reconciler.errors import ConfigError, UsageError

    built = threading.Event()

    class Client:
        closed = False

        def close(self):
            Client.closed = True

    def client_for(api_url):
        built.set()
        return Client()

    def load(path, policy_file=None):
        assert built.wait(20), "the client was not being built while the file loaded"
        if path == "bad.yaml":
            raise ConfigError(["bad.yaml:1:1: nope"])
        return "config"

    monkeypatch.setattr(cli_module, "client_for", client_for)
    monkeypatch.setattr(cli_module, "load", load)
    ctx = click.Context(cli, obj={"api_url": None, "no_color": False})
    config, client = cli_module.load_with_client(ctx, "good.yaml")
    assert config == "config" and isinstance(client, Client)

    built.clear()
    with pytest.raises(ConfigError):
        cli_module.load_with_client(ctx, "bad.yaml")
    assert cli_module.PENDING  # never taken: main() closes it
    cli_module.PENDING.pop().discard()
    assert Client.closed

    def no_key(api_url):
        built.set()
        raise UsageError("TAVUS_API_KEY is not set")

    built.clear()
    monkeypatch.setattr(cli_module, "client_for", no_key)
    with pytest.raises(ConfigError):  # the file's error first
        cli_module.load_with_client(ctx, "bad.yaml")
    cli_module.PENDING.clear()
    with pytest.raises(UsageError, match="TAVUS_API_KEY"):
        cli_module.load_with_client(ctx, "good.yaml")


def test_a_warning_several_entries_inherit_is_one_line_naming_them():
    names = {f"acme-{c}" for c in "abcde"}
    warnings = [f"f.yaml:3:5: acme-{c}: model_name 'x' is not a known model" for c in "abcde"]
    assert _merge_warnings(warnings, names) == [
        "f.yaml:3:5: model_name 'x' is not a known model (for acme-a, acme-b, acme-c and 2 more)"]
    assert _merge_warnings(["f.yaml:3:5: acme-a: odd", "f.yaml:9:1: not-an-entry: kept as is", "plain"], names) == [
        "f.yaml:3:5: acme-a: odd", "f.yaml:9:1: not-an-entry: kept as is", "plain"]
