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

import re
from typing import Any
from urllib.parse import urlsplit

from reconciler.engine.checks import ONLY_VAR, NamedRules, RuleSem, fragment, suggest
from reconciler.engine.checks import plain as _plain
from reconciler.engine.checks import removed_names as _removed
from reconciler.engine.yamlpos import short
from reconciler.kinds.tools.models import AUTH_TYPES, ORIGINS, DesiredTool, sealed, secret_paths, valid_name

OWN = ("name", "tool_id", "protect")  # the file's own keys (never sent as such)
_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9_]")
AUTH_MEMBERS = ("type", "token", "username", "password", "name", "value", "location", "secret", "token_url",
                "client_id", "client_secret", "scope")


def schema() -> dict:
    """This kind's schema fragment: the JSON Schema of the file's ``tools:`` section."""
    return fragment("reconciler.kinds.tools")


def section() -> dict:
    """The JSON Schema of the list under ``tools:`` (the fragment's ``section``)."""
    return schema()["section"]


def known_fields() -> list[str]:
    return list(section()["items"]["properties"])


def parse(entries: Any, ctx: Any) -> tuple:
    """The loader's hook (``reconciler.engine.rules``): the desired entries of ``tools:``."""
    root = ctx.doc.root if isinstance(ctx.doc.root, dict) else {}
    sem = getattr(ctx, "sem", None) or RuleSem(ctx)
    return ToolRules(sem).run(entries, ctx.settings, _removed(root.get("removed")))


def scope_prefix(prefix: str | None) -> str | None:
    """The scope's name prefix as a tool name can hold it (``acme-`` -> ``acme_``)."""
    return None if prefix is None else _NOT_NAME_CHAR.sub("_", prefix)


def _api(entry: dict) -> dict:
    delivery = entry.get("delivery")
    api = delivery.get("api") if isinstance(delivery, dict) else None
    return api if isinstance(api, dict) else {}


class ToolRules(NamedRules):
    """``sem`` is the engine's validation context: ``doc`` (the located document: ``root``, ``at``, ``key_at``,
    ``missing``, ``raw``, ``skip``), ``diags`` (``error``/``warning``), ``_unset_identity(path, what)`` and
    ``warn_once(key, pos, message)``. After :meth:`run`, ``names`` maps each declared name to its line (what a
    persona's ``tools: [names]`` may cite)."""

    key = "tools"
    noun = "tool"
    id_key = "tool_id"
    duplicate_note = ": Tavus keeps tool names unique"
    scope_note = "settings.scope.name_prefix, as a tool name can hold it"

    def __init__(self, sem: Any):
        self.sem = sem
        self.doc = sem.doc
        self.diags = sem.diags
        self.names: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.removed: tuple[str, ...] = ()

    def _entry(self, i: int, entry: dict, settings: Any) -> DesiredTool | None:
        base = (self.key, i)
        label, ok = self.rule_name(base, entry["name"], scope_prefix(getattr(settings, "name_prefix", None)))
        tool_id = self.rule_id(base, entry, label)
        secrets_ok = self._rule_secrets(base, entry, label)
        self._rule_url(base, entry, label)
        self._rule_unknown_fields(base, entry)
        self._rule_auth(base, entry)
        self._rule_origin(base, entry, label)
        self.rule_tags(base, entry, label)
        missing = self.rule_vars(base, label)
        if not ok or not secrets_ok:
            return None
        attributes = sealed({k: _plain(v) for k, v in entry.items() if k not in OWN})  # secrets never show
        return DesiredTool(name=entry["name"], attributes=attributes, tool_id=tool_id,
                           secret_paths=tuple(secret_paths(attributes)), missing_vars=tuple(sorted(missing)),
                           protect=entry.get("protect") is True, line=self.doc.at(base)[0])

    def name_problem(self, name: str) -> str | None:
        """A tool's name is a function name (the API's pattern)."""
        if valid_name(name):
            return None
        return (f"tool name {short(name)} is not a function name: letters, digits and _ only, at most 64, not "
                "starting with a digit (e.g. lookup_candidate)")

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
            if not isinstance(value, str) or raw is None or not ONLY_VAR.match(raw):
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
            close = suggest(key, known)
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
            close = suggest(kind, AUTH_TYPES)
            hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(AUTH_TYPES)}"
            self.sem.warn_once(f"tool:auth.type={kind}", self.doc.at(apath + ("type",)),
                               f"tools: auth type {short(kind)} is not documented ({hint}); it is sent as written")
        for key in auth:
            if isinstance(key, str) and key not in AUTH_MEMBERS:
                close = suggest(key, AUTH_MEMBERS)
                hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(AUTH_MEMBERS)}"
                self.sem.warn_once(f"tool:auth.{key}", self.doc.key_at(apath + (key,)),
                                   f"tools: auth member {short(key)} is not documented ({hint}); it is sent as "
                                   "written")

    def _rule_origin(self, base: tuple, entry: dict, label: str) -> None:
        origin = entry.get("origin")
        if isinstance(origin, str) and origin not in ORIGINS:
            close = suggest(origin, ORIGINS)
            hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(ORIGINS)}"
            self.sem.warn_once(f"tool:origin={origin}", self.doc.at(base + ("origin",)),
                               f"tools: origin {short(origin)} is not documented ({hint}); it is sent as written")
        if origin in ("vision", "audio") and "on_call" in entry:
            self.diags.warning(self.doc.key_at(base + ("on_call",)),
                               f"{label}: on_call is for llm tools; Tavus documents it must be omitted for "
                               f"{origin} tools")
