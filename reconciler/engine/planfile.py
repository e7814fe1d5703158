"""Saved plans (``plan --out PLANFILE``, ``apply PLANFILE``).

A saved plan holds the desired-state file's text as committed (``${VAR}``s unresolved: presigned URLs
are read from the environment again at apply time, so they are never written to disk), the options the
plan was computed with, the plan itself (redacted, for display and review) and a fingerprint of the
remote inventory it was computed from, and a hash of the resolved inputs (the file's entries after ``${VAR}``
resolution, the scope and the API URL; a hash, never the values). ``apply PLANFILE`` recomputes the plan
from the account, the file and the environment and refuses it on any difference: remote fingerprint,
resolved inputs, options or the changes themselves. The API key is never part of it. Files are created with
mode 0600.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler import __version__
from reconciler.engine.kind import WithSavedPlan, has, in_scope
from reconciler.engine.models import Config
from reconciler.errors import ReconcilerError

KIND = "tavus-reconciler-plan"
FORMAT_VERSION = "2"  # 2: inputs_hash; changes carry the replace phase


@dataclass(frozen=True)
class SavedPlan:
    file: str
    source: str
    targets: tuple[str, ...]
    replace: tuple[str, ...]
    prune: bool
    fingerprint: str
    document: dict  # render.plan_document() of the plan, for display and for the exactness check
    inputs: str = ""  # inputs_hash() when the plan was made
    resend: tuple[str, ...] = ()  # --resend PERSONA (an option, like targets: apply recomputes with it)
    max_replacing: int | None = None  # --max-replacing / --canary given to plan (None: settings.rollout's)
    canary: int | None = None
    allow_mass_change: bool = False  # --allow-mass-change let a mass change through when the plan was made (issue 28)
    account: str = ""  # client.account when the plan was made: a digest of the API key (issue 24 #9)
    discard_drafts: tuple[str, ...] = ()  # --discard-editor-drafts PERSONA (issue 25; an option, like resend)
    tool_version: str = __version__  # the tavus-reconciler that made it


def _registered() -> tuple[Any, ...]:
    from reconciler.kinds import registered

    return registered()


def fingerprint(config: Config, listings: Mapping[str, Sequence[Any] | None]) -> str:
    """A digest of what the plan's decisions depend on, kind by kind (``listings``: kind key -> what the account
    listed, None or absent for a kind not listed): each kind's :meth:`~WithSavedPlan.fingerprint_items`, by
    default the ids and names of its managed objects in the file's scope (an attribute changed since shows in
    the changes themselves; another team's objects outside the scope do not make the plan stale).
    What moves all the time (training progress) is left out: it changes nothing in a plan."""
    parts, prefix = [], config.settings.name_prefix
    for k in _registered():
        listing = listings.get(k.key)
        if listing is None:
            continue
        if has(k, WithSavedPlan):
            parts.append(k.fingerprint_items(config, listing))
        else:
            parts.append(sorted((k.remote_id(r), k.remote_name(r)) for r in listing
                                if k.managed(r) and in_scope(k, k.remote_name(r), prefix)))
    # one kind's items unwrapped, two kinds' as a pair: the digests of the plans saved before issue 26
    items = parts[0] if len(parts) == 1 else parts
    return "sha256:" + hashlib.sha256(json.dumps(items, default=str).encode()).hexdigest()


def inputs_hash(config: Config, api_url: str) -> str:
    """A digest of everything the plan was computed from besides the account: every declared entry with its
    ``${VAR}``s resolved (so a changed environment variable is caught), the settings and the API URL."""
    doc: dict[str, Any] = {"settings": dataclasses.asdict(config.settings), "api_url": api_url.rstrip("/")}
    for k in _registered():
        if has(k, WithSavedPlan):
            entries = k.input_entries(config)
        else:
            entries = [k.document(d) for d in config.objects.get(k.key, ())] or None
        if entries is not None:
            doc[k.key] = entries
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _comparable(changes: list) -> list:
    """Changes as compared between a saved plan and now: a remote object's status moving on (e.g. a pruned
    object finishing its training) is not a different change; everything else is."""
    def strip(attrs):
        return None if attrs is None else {k: v for k, v in attrs.items() if k != "status"}
    return [{**c, "before": strip(c.get("before")), "after": strip(c.get("after"))} for c in changes]


def differences(saved: SavedPlan, config: Config, listings: Mapping[str, Sequence[Any] | None], document: dict,
                api_url: str, *, account: str | None = None) -> list[str]:
    """Why the plan recomputed now (``document``, from ``listings``: see :func:`fingerprint`) is not exactly the
    saved one; empty when it is. ``account``: the applying client's account digest (every account shares one
    API URL)."""
    found = []
    if account is not None and account != saved.account:
        found.append("it was made for another Tavus account (TAVUS_API_KEY names a different one now)" if saved.account
                     else "it does not record which Tavus account it was made for (made by an older version)")
    document = _as_saved(document)  # secrets masked as in the file (a changed one shows in inputs_hash)
    if fingerprint(config, listings) != saved.fingerprint:
        found.append("the objects on the account changed since it was made")
    if inputs_hash(config, api_url) != saved.inputs:
        found.append("the resolved inputs differ (an environment variable used by the file, or the API URL, "
                     "changed since it was made)")
    if _comparable(document.get("changes", [])) != _comparable(saved.document.get("changes", [])):
        now = [f"{c['action']} {c['name']}" for c in document.get("changes", [])] or ["no changes"]
        found.append(f"the changes differ: it would now do {', '.join(now)}")
    elif document.get("rollout") != saved.document.get("rollout"):  # issue 19: the order, canary, batches
        found.append(f"the rollout differs: it would now be {_rollout_words(document.get('rollout'))}, the saved "
                     f"plan says {_rollout_words(saved.document.get('rollout'))} (--max-replacing / --canary "
                     "are fixed when the plan is made)")
    if found and saved.tool_version != __version__:  # what a version records of the account may differ
        found.append(f"it was made by tavus-reconciler {saved.tool_version or 'of an unknown version'}, this is "
                     f"{__version__}: make the plan again with this version")
    return found


def _as_saved(document: dict) -> dict:
    """``document`` as :func:`write` saves it and :func:`read` reads it back (registered secrets masked)."""
    from reconciler.views.render import _json_safe

    return json.loads(_json_safe(json.dumps(document, ensure_ascii=False)))


def _rollout_words(rollout) -> str:
    if not isinstance(rollout, dict):
        return "no rollout"
    return ", ".join(f"{k} {rollout.get(k)}" for k in ("max_replacing", "canary", "verify"))


def options(saved: SavedPlan) -> dict:
    """The options a plan was made with, as saved (and shown by ``show --format json``)."""
    return {"targets": list(saved.targets), "replace": list(saved.replace), "prune": saved.prune,
            **({"resend": list(saved.resend)} if saved.resend else {}),
            **({"allow_mass_change": True} if saved.allow_mass_change else {}),
            **({"discard_editor_drafts": list(saved.discard_drafts)} if saved.discard_drafts else {}),
            "max_replacing": saved.max_replacing, "canary": saved.canary}


def _count_option(opts: dict, key: str, least: int) -> int | None:
    value = opts.get(key)
    if value is None:
        return None
    if type(value) is not int or value < least:
        raise ValueError(f"options.{key} must be an integer >= {least} or null, not {str(value)[:40]!r}")
    return value


def write(path: str, saved: SavedPlan) -> None:
    doc = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "tool_version": saved.tool_version,
        "file": saved.file,
        "source": saved.source,
        "options": options(saved),
        "remote_fingerprint": saved.fingerprint,
        "inputs_hash": saved.inputs,
        "account": saved.account,
        "plan": saved.document,
    }
    from reconciler.views.render import _json_safe

    # the plan document holds server strings (names): the same masking and escaping as any output
    data = (_json_safe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n").encode()
    write_atomic(path, data, what="plan")


def write_atomic(path: str, data: bytes, *, what: str = "file") -> None:
    """Write ``data`` to ``path`` atomically (a 0600 temporary file in the same folder, then a rename), so a
    reader never sees half a file and a failure leaves the old one. A symbolic link at ``path`` is refused:
    writing would either follow it (overwriting and chmod'ing its target) or silently replace it; the rename
    replaces a link itself, never its target, so even a link made meanwhile is not followed."""
    import stat
    import tempfile

    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise ReconcilerError(f"{path} is a symbolic link: not writing the {what} through it (remove the link "
                                  "or choose another name)")
    except FileNotFoundError:
        pass
    except OSError as e:
        raise ReconcilerError(f"{path}: cannot write {what}: {e.strerror}") from None
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tavus-", suffix=".tmp")  # created 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise ReconcilerError(f"{path}: cannot write {what}: {e.strerror or type(e).__name__}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def is_planfile(path: str) -> bool:
    """True when ``path`` looks like a saved plan (JSON with our kind), not a desired-state file."""
    try:
        with open(path, "rb") as f:
            head = f.read(256).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and KIND.encode() in head


def read(path: str) -> SavedPlan:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if doc.get("kind") != KIND:
            raise ValueError("not a tavus-reconciler plan")
        if doc.get("format_version") != FORMAT_VERSION:
            version = doc.get("format_version")
            raise ValueError(f"plan format {version!r} is not supported (expected {FORMAT_VERSION}); run plan again")
        opts = doc["options"]
        return SavedPlan(
            file=str(doc["file"]),
            source=str(doc["source"]),
            targets=tuple(opts.get("targets", ())),
            replace=tuple(opts.get("replace", ())),
            prune=bool(opts.get("prune", False)),
            fingerprint=str(doc["remote_fingerprint"]),
            document=dict(doc["plan"]),
            inputs=str(doc["inputs_hash"]),
            resend=tuple(str(n) for n in opts.get("resend", ())),
            discard_drafts=tuple(str(n) for n in opts.get("discard_editor_drafts", ())),
            max_replacing=_count_option(opts, "max_replacing", 1),
            canary=_count_option(opts, "canary", 0),
            allow_mass_change=opts.get("allow_mass_change") is True,
            account=str(doc.get("account") or ""),
            tool_version=str(doc.get("tool_version") or ""),
        )
    except OSError as e:
        raise ReconcilerError(f"{path}: cannot read plan: {e.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ReconcilerError(f"{path}: not a valid saved plan ({e})") from None
