"""Loading the desired-state file: YAML -> located values -> JSON Schema + semantic checks -> ``Config``.

Every problem is reported as ``FILE:LINE:COL: message`` (1-based), all at once, sorted by position.

This module is the entry point (``load_config``, ``parse_config``); the work is done by
``reconciler.engine.yamlpos`` (YAML with positions, safe on hostile input),
``reconciler.engine.interpolate`` (``${VAR}``) and ``reconciler.engine.validation`` (schema wording and one
function per semantic rule). The file is capped at 5 MB.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from reconciler.engine.interpolate import interpolate
from reconciler.engine.models import Config
from reconciler.engine.rule_hooks import file_hints, identity_keys
from reconciler.engine.validation import SCHEMA_FILE, Semantics, check_schema, load_schema
from reconciler.engine.yamlpos import Builder, Diagnostics, offset_position, text_position
from reconciler.errors import ConfigError
from reconciler.kinds import DOCUMENT_NOUN

__all__ = ["MAX_FILE_BYTES", "SCHEMA_FILE", "interpolate", "load_config", "load_schema", "parse_config"]

MAX_FILE_BYTES = 5 * 1024 * 1024


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None,
                policy: tuple = ()) -> Config:
    """Read and validate the replicas file at ``path``. Raises ConfigError with every problem found."""
    shown = str(path)
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([f"{shown}: no such file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{shown}: is a directory, not a {DOCUMENT_NOUN}"]) from None
    except PermissionError:
        raise ConfigError([f"{shown}: cannot read the file (permission denied)"]) from None
    except OSError as e:
        raise ConfigError([f"{shown}: cannot read the file ({e.strerror or type(e).__name__})"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError([f"{shown}: the file is too large (over {MAX_FILE_BYTES // (1024 * 1024)} MB)"])
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError([f"{shown}:1:1: the file is UTF-16 text; save it as UTF-8"])
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = offset_position(data, nul)
        raise ConfigError([f"{shown}:{line}:{col}: the file looks binary (it contains a NUL byte), not YAML"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = offset_position(data, e.start)
        raise ConfigError([f"{shown}:{line}:{col}: the file is not UTF-8 text "
                           f"(invalid byte 0x{data[e.start]:02x}); save it as UTF-8"]) from None
    return parse_config(text, shown, environ=environ, policy=policy)


def parse_config(text: str, path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None,
                 policy: tuple = ()) -> Config:
    """Validate ``text`` (the content of the file ``path``) and build the Config. Raises ConfigError.
    ``policy``: the rules of a ``--policy FILE`` (``reconciler.engine.policyfile.load_file``), checked with the
    file's own."""
    shown = str(path)
    env = os.environ if environ is None else environ
    diags = Diagnostics(shown)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as e:
        line, col = text_position(text, e.start)
        raise ConfigError([f"{shown}:{line}:{col}: the file is not valid Unicode text"]) from None
    if size > MAX_FILE_BYTES:
        raise ConfigError([f"{shown}: the file is too large (over {MAX_FILE_BYTES // (1024 * 1024)} MB)"])
    nul = text.find("\x00")
    if nul >= 0:
        line, col = text_position(text, nul)
        raise ConfigError([f"{shown}:{line}:{col}: the file looks binary (it contains a NUL byte), not YAML"])

    doc = Builder(text, diags, env, identity_keys=identity_keys(), hints=file_hints()).build()
    if doc is None:  # fatal: nothing more can be checked
        raise ConfigError(diags.render())
    check_schema(doc, diags)
    config = Semantics(doc, diags, shown, text, policy=policy).run()
    if diags.errors or config is None:
        raise ConfigError(diags.render())
    return config

