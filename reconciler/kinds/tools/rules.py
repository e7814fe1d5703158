"""The semantic rules of ``tools:``, one per method, run for every entry; builds :class:`DesiredTool`.

Located one-line errors (what, where, how to fix): a name that is unset, not a function name
(``^[a-zA-Z_][a-zA-Z0-9_]{0,63}$``), declared twice, outside the scope or also under ``removed:``; a
``tool_id`` declared twice; a secret (``delivery.api.auth`` token, password, api key value, hmac secret, client
secret; a credential header) written in the file instead of as ``${VAR}``; a ``delivery.api.url`` that is not
https. Warnings: an unset ``${VAR}`` outside the identity (needed when the tool is created or updated), a field,
auth type, origin or auth member this version does not document (sent as written, one warning per field for the
whole file), ``on_call`` on a perception tool, a tag listed twice.

The scope: a tool name cannot hold the ``-`` of a prefix such as ``acme-``; the scope's prefix is matched with
every character a tool name cannot hold read as ``_`` (:func:`scope_prefix`: ``acme-`` -> ``acme_``).
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from reconciler.engine.checks import removed_names as _removed
from reconciler.engine.yamlpos import short
from reconciler.kinds.tools.models import AUTH_TYPES, ORIGINS, DesiredTool, sealed, secret_paths, valid_name

OWN = ("name", "tool_id", "protect")  # the file's own keys (never sent as such)
IDENTITY = ("name", "tool_id")
_ONLY_VAR = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}\Z")
_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9_]")
AUTH_MEMBERS = ("type", "token", "username", "password", "name", "value", "location", "secret", "token_url",
                "client_id", "client_secret", "scope")


@cache
def schema() -> dict:
    """This kind's schema fragment: the JSON Schema of the file's ``tools:`` section."""
    return json.loads(files("reconciler.kinds.tools").joinpath("schema.json").read_text(encoding="utf-8"))


def section() -> dict:
    """The JSON Schema of the list under ``tools:`` (the fragment's ``section``)."""
    return schema()["section"]


def known_fields() -> list[str]:
    return list(section()["items"]["properties"])


class _Sem:
    """The validation context the rules speak (``doc``, ``diags``, ``_unset_identity``, ``warn_once``), over the
    engine loader's ``ctx`` (``reconciler.engine.rules.RuleContext``: ``doc``, ``diags``, ``settings``)."""

    def __init__(self, ctx: Any):
        self.doc, self.diags = ctx.doc, ctx.diags
        self._warned: set[str] = set()

    def _unset_identity(self, path: tuple, what: str) -> None:
        for var in self.doc.missing[path]:
            self.diags.error(self.doc.at(path), f"${{{var}}} is not set: {what} must be known to plan (set the "
                                                "variable or give a default with ${VAR:-default})")

    def warn_once(self, key: str, pos: Any, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.diags.warning(pos, message)


def parse(entries: Any, ctx: Any) -> tuple:
    """The loader's hook (``reconciler.engine.rules``): the desired entries of ``tools:``."""
    root = ctx.doc.root if isinstance(ctx.doc.root, dict) else {}
    sem = getattr(ctx, "sem", None) or _Sem(ctx)
    return ToolRules(sem).run(entries, ctx.settings, _removed(root.get("removed")))


def scope_prefix(prefix: str | None) -> str | None:
    """The scope's name prefix as a tool name can hold it (``acme-`` -> ``acme_``)."""
    return None if prefix is None else _NOT_NAME_CHAR.sub("_", prefix)


def _suggest(key: str, known: list[str] | tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _api(entry: dict) -> dict:
    delivery = entry.get("delivery")
    api = delivery.get("api") if isinstance(delivery, dict) else None
    return api if isinstance(api, dict) else {}


class ToolRules:
    """``sem`` is the engine's validation context: ``doc`` (the located document: ``root``, ``at``, ``key_at``,
    ``missing``, ``raw``, ``skip``), ``diags`` (``error``/``warning``), ``_unset_identity(path, what)`` and
    ``warn_once(key, pos, message)``. After :meth:`run`, ``names`` maps each declared name to its line (what a
    persona's ``tools: [names]`` may cite)."""

    key = "tools"

    def __init__(self, sem: Any):
        self.sem = sem
        self.doc = sem.doc
        self.diags = sem.diags
        self.names: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.removed: tuple[str, ...] = ()

    def run(self, raw: Any, settings: Any, removed: tuple[str, ...] = ()) -> tuple[DesiredTool, ...]:
        if not isinstance(raw, list):
            return ()
        self.removed = tuple(removed)
        out = []
        for i, entry in enumerate(raw):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                desired = self._entry(i, entry, settings)
                if desired is not None:
                    out.append(desired)
        return tuple(out)

    def _entry(self, i: int, entry: dict, settings: Any) -> DesiredTool | None:
        base = (self.key, i)
        label, ok = self._rule_name(base, entry["name"], settings)
        tool_id = self._rule_tool_id(base, entry, label)
        secrets_ok = self._rule_secrets(base, entry, label)
        self._rule_url(base, entry, label)
        self._rule_unknown_fields(base, entry)
        self._rule_auth(base, entry)
        self._rule_origin(base, entry, label)
        self._rule_tags(base, entry, label)
        missing = self._rule_vars(base, label)
        if not ok or not secrets_ok:
            return None
        attributes = sealed({k: _plain(v) for k, v in entry.items() if k not in OWN})  # secrets never show
        return DesiredTool(name=entry["name"], attributes=attributes, tool_id=tool_id,
                           secret_paths=tuple(secret_paths(attributes)), missing_vars=tuple(sorted(missing)),
                           protect=entry.get("protect") is True, line=self.doc.at(base)[0])

    def _rule_name(self, base: tuple, name: str, settings: Any) -> tuple[str, bool]:
        """The name is known (no unset ${VAR}), a function name, declared once, in scope, not also under
        removed:. Returns (label, usable)."""
        doc, diags, i = self.doc, self.diags, base[1]
        npath, fallback = base + ("name",), f"{self.key}[{i}]"
        if npath in doc.missing:
            self.sem._unset_identity(npath, f"{fallback}.name")
            return fallback, False
        if not valid_name(name):
            diags.error(doc.at(npath), f"{fallback}: tool name {short(name)} is not a function name: letters, digits "
                                       "and _ only, at most 64, not starting with a digit (e.g. lookup_candidate)")
            return fallback, False
        if name in self.removed:
            diags.error(doc.at(npath), f"{name}: the tool is also listed under removed: (released from "
                                       "management): remove it from one of the two")
        if name in self.names:
            diags.error(doc.at(npath), f"duplicate tool name {short(name)} (first declared at line "
                                       f"{self.names[name]}): Tavus keeps tool names unique")
        else:
            self.names[name] = doc.at(base)[0]
        prefix = scope_prefix(getattr(settings, "name_prefix", None))
        if prefix and not name.startswith(prefix):
            diags.error(doc.at(npath), f"{name}: the name is outside this file's scope: it must start with "
                                       f"{prefix!r} (settings.scope.name_prefix, as a tool name can hold it)")
        return name, True

    def _rule_tool_id(self, base: tuple, entry: dict, label: str) -> str | None:
        path, value = base + ("tool_id",), entry.get("tool_id")
        if path in self.doc.missing:
            self.sem._unset_identity(path, f"{label}: tool_id")
            return None
        if not isinstance(value, str) or not value:
            return None
        if value in self.ids:
            self.diags.error(self.doc.at(path), f"{label}: tool_id {value} is already used at line {self.ids[value]}")
            return None
        self.ids[value] = self.doc.at(base)[0]
        return value

    def _rule_secrets(self, base: tuple, entry: dict, label: str) -> bool:
        """Every secret is written only as ``${VAR}`` (a value written in the file is a secret in git); its
        resolved value is registered so no output can print it. False when one is not."""
        from reconciler.api.redact import register_secret

        ok = True
        for path in secret_paths(entry):
            full = base + path
            value, raw = entry["delivery"]["api"][path[2]][path[3]], self.doc.raw.get(full)
            if value is None:
                continue
            if not isinstance(value, str) or raw is None or not _ONLY_VAR.match(raw):
                self.diags.error(self.doc.at(full), f"{label}: {'.'.join(path)} must be written as ${{VAR}} (an "
                                                    "environment variable holding it): a secret written in the "
                                                    "file is a secret in git")
                ok = False
            elif full not in self.doc.missing:
                register_secret(value)
        return ok

    def _rule_url(self, base: tuple, entry: dict, label: str) -> None:
        """``delivery.api.url`` is an https URL with a host (path templates such as ``{city}`` are fine)."""
        url, path = _api(entry).get("url"), base + ("delivery", "api", "url")
        if not isinstance(url, str) or not url or path in self.doc.missing:
            return
        try:
            parts = urlsplit(url)
            scheme, host = parts.scheme.lower(), parts.hostname
        except ValueError:
            scheme, host = "", None
        if scheme != "https" or not host:
            self.diags.error(self.doc.at(path), f"{label}: delivery.api.url must be an https:// URL with a host "
                                                f"(got {short(url)})")

    def _rule_unknown_fields(self, base: tuple, entry: dict) -> None:
        """A field this version does not document is sent as written, with ONE warning for the whole file."""
        known = known_fields()
        for key in entry:
            if key in known or not isinstance(key, str):
                continue
            close = _suggest(key, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            self.sem.warn_once(f"tool:{key}", self.doc.key_at(base + (key,)),
                               f"tools: field {short(key)} is not one this version documents{hint}; it is sent to "
                               "the API as written")

    def _rule_auth(self, base: tuple, entry: dict) -> None:
        auth = _api(entry).get("auth")
        if not isinstance(auth, dict):
            return
        apath = base + ("delivery", "api", "auth")
        kind = auth.get("type")
        if isinstance(kind, str) and kind not in AUTH_TYPES:
            close = _suggest(kind, AUTH_TYPES)
            hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(AUTH_TYPES)}"
            self.sem.warn_once(f"tool:auth.type={kind}", self.doc.at(apath + ("type",)),
                               f"tools: auth type {short(kind)} is not documented ({hint}); it is sent as written")
        for key in auth:
            if isinstance(key, str) and key not in AUTH_MEMBERS:
                close = _suggest(key, AUTH_MEMBERS)
                hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(AUTH_MEMBERS)}"
                self.sem.warn_once(f"tool:auth.{key}", self.doc.key_at(apath + (key,)),
                                   f"tools: auth member {short(key)} is not documented ({hint}); it is sent as "
                                   "written")

    def _rule_origin(self, base: tuple, entry: dict, label: str) -> None:
        origin = entry.get("origin")
        if isinstance(origin, str) and origin not in ORIGINS:
            close = _suggest(origin, ORIGINS)
            hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(ORIGINS)}"
            self.sem.warn_once(f"tool:origin={origin}", self.doc.at(base + ("origin",)),
                               f"tools: origin {short(origin)} is not documented ({hint}); it is sent as written")
        if origin in ("vision", "audio") and "on_call" in entry:
            self.diags.warning(self.doc.key_at(base + ("on_call",)),
                               f"{label}: on_call is for llm tools; Tavus documents it must be omitted for "
                               f"{origin} tools")

    def _rule_tags(self, base: tuple, entry: dict, label: str) -> None:
        tags = entry.get("tags")
        if not isinstance(tags, list):
            return
        seen: set[str] = set()
        for j, tag in enumerate(tags):
            if isinstance(tag, str) and tag in seen:
                self.diags.warning(self.doc.at(base + ("tags", j)), f"{label}: tag {short(tag)} is listed twice")
            seen.add(tag)

    def _rule_vars(self, base: tuple, label: str) -> set[str]:
        """Unset ${VAR}s outside the identity are warnings here: they are needed when the tool is created or
        updated (plan refuses then). Returns the unset variables."""
        missing: set[str] = set()
        identity = {base + (k,) for k in IDENTITY}
        for path, unset in self.doc.missing.items():
            if path[:2] != base or path in identity:
                continue
            missing.update(unset)
            for var in unset:
                self.diags.warning(self.doc.at(path), f"${{{var}}} is not set (needed when {label} is created or "
                                                      "updated)")
        return missing
