"""Personas as the Tavus API reports them (:class:`RemotePersona`), and the secrets their layers carry.

Self-contained on purpose (issue 17, API step): the resource-kind wiring (plan/apply/render) builds on this.

Secrets: ``layers.llm.api_key`` and ``layers.tts.api_key`` are a customer's own LLM/TTS keys. Whether the
API echoes them back, masked or in clear, is not documented, so both are tolerated: an echoed value is
registered with :func:`reconciler.api.redact.register_secret` (every output path masks it from then on) and is
never kept in the model; :attr:`RemotePersona.document` holds :data:`MASK` in its place, and
:meth:`RemotePersona.secret_matches` compares a desired key with what the server echoed through a per-process
salted digest (None when the server did not echo it, or echoed it masked: it cannot be compared).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.api.redact import register_secret

MASK = "[REDACTED]"
SECRET_PATHS: tuple[tuple[str, ...], ...] = (("layers", "llm", "api_key"), ("layers", "tts", "api_key"))
# Documented for create but missing from the documented Get schema: the live API may not return them. The
# planner must tell "could not be read back" (not in ``present``) from "absent" (in ``present``, value None).
UNCERTAIN_FIELDS: tuple[str, ...] = ("pipeline_mode", "objectives_id", "guardrails_id", "layers.conversational_flow")
_SALT = os.urandom(16)
_LOOKS_MASKED = re.compile(r"^\W*$|[*•…]|\.{3}|x{4,}|redacted", re.IGNORECASE)  # `llm...1111`: masked too


def _digest(value: str) -> bytes:
    return hmac.new(_SALT, value.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def looks_masked(value: str) -> bool:
    """An echoed key such as ``sk-****abcd``, ``llm...1111``, ``••••`` or ``[REDACTED]``: not the key itself."""
    return bool(_LOOKS_MASKED.search(value))


def register_layer_secrets(layers: Any) -> list[str]:
    """Register every resolved layer ``api_key`` (desired side, after ``${VAR}`` interpolation) so no output
    path can print it. Returns the dotted paths registered (never the values)."""
    found = []
    for path in SECRET_PATHS:
        value = _at({"layers": layers}, path)
        if isinstance(value, str) and value:
            register_secret(value)
            found.append(".".join(path))
    return found


def _at(doc: Any, path: Iterable[str]) -> Any:
    for key in path:
        if not isinstance(doc, Mapping) or key not in doc:
            return None
        doc = doc[key]
    return doc


def _masked_copy(doc: Any, digests: dict[str, bytes]) -> Any:
    """A deep copy of the persona document with layer api_keys replaced by MASK (their digests recorded)."""
    if not isinstance(doc, Mapping):
        return doc
    out = {str(k): _deep(v) for k, v in doc.items()}
    for path in SECRET_PATHS:
        parent = _at(out, path[:-1])
        if isinstance(parent, dict) and path[-1] in parent:
            value = parent[path[-1]]
            if isinstance(value, str) and value:
                register_secret(value)  # echoed back: masked on every output path from now on
                if not looks_masked(value):
                    digests[".".join(path)] = _digest(value)
                parent[path[-1]] = MASK
    return out


def _deep(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(v for v in value if isinstance(v, str))


@dataclass(frozen=True)
class DesiredPersona:
    """One entry of ``personas:`` in the file (the shared interface between the file side and the planner)."""

    name: str                                   # persona_name; identity within settings.scope like replicas
    attributes: Mapping[str, Any]               # what the file declares, as API field names, nested
                                                # (system_prompt, context, pipeline_mode, document_ids,
                                                # document_tags, objectives_id, guardrails_id, layers{...}),
                                                # ${VAR}s resolved, system_prompt_file already read into
                                                # system_prompt; EXCLUDES persona_name and default_replica_id
    default_replica: str | None = None          # a replica name declared in this file (resolved at plan time)
    default_replica_id: str | None = None       # an explicit id for a replica not declared in the file
    secret_paths: tuple[str, ...] = ()          # JSON Pointers of secret values (/layers/llm/api_key ...)
    missing_vars: tuple[str, ...] = ()
    protect: bool = False
    persona_id: str | None = None               # pinned/adopted (export writes it), like replica_id
    # issue 27: kind key -> the names it cites (documents, guardrails, objectives, pronunciation_dictionaries,
    # tools), by declared name; their keys stay in ``attributes`` and are bound to ids at plan time
    cited: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class RemotePersona:
    """A persona as the API reports it. Missing fields are None; ``present`` tells which of the
    :data:`UNCERTAIN_FIELDS` the server actually returned; ``document`` is the whole (secret-masked) item,
    the remote side of :func:`reconciler.engine.jsonpatch.diff`."""

    persona_id: str
    name: str | None = None
    persona_type: str | None = None  # "user" | "system" (stock, read-only)
    system_prompt: str | None = None
    context: str | None = None
    pipeline_mode: str | None = None
    default_replica_id: str | None = None
    document_ids: tuple[str, ...] | None = None
    document_tags: tuple[str, ...] | None = None
    objectives_id: str | None = None
    guardrails_id: str | None = None
    layers: Mapping[str, Any] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    present: frozenset[str] = frozenset()
    document: Mapping[str, Any] = field(default_factory=dict, repr=False)
    _digests: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemotePersona:
        """Tolerant: only ``persona_id`` is required (KeyError/TypeError otherwise, like RemoteReplica)."""
        pid = data["persona_id"]
        if not isinstance(pid, str) or not pid:
            raise TypeError("persona_id is not a non-empty string")
        digests: dict[str, bytes] = {}
        doc = _masked_copy(data, digests)
        layers = doc.get("layers")
        present = {f for f in UNCERTAIN_FIELDS if "." not in f and f in doc}
        if isinstance(layers, Mapping) and "conversational_flow" in layers:
            present.add("layers.conversational_flow")
        return cls(
            persona_id=pid, name=_str(doc.get("persona_name")), persona_type=_str(doc.get("persona_type")),
            system_prompt=_str(doc.get("system_prompt")), context=_str(doc.get("context")),
            pipeline_mode=_str(doc.get("pipeline_mode")), default_replica_id=_str(doc.get("default_replica_id")),
            document_ids=_strings(doc.get("document_ids")), document_tags=_strings(doc.get("document_tags")),
            objectives_id=_str(doc.get("objectives_id")), guardrails_id=_str(doc.get("guardrails_id")),
            layers=layers if isinstance(layers, Mapping) else None, created_at=_str(doc.get("created_at")),
            updated_at=_str(doc.get("updated_at")), present=frozenset(present), document=doc, _digests=digests)

    def readable(self, attribute: str) -> bool:
        """Whether ``attribute`` (dotted, e.g. ``layers.conversational_flow``) could be read back: False for an
        uncertain field the server did not return and for a layer api_key (never readable as such)."""
        if ".".join(attribute.split(".")[:3]) in (".".join(p) for p in SECRET_PATHS):
            return False
        for uncertain in UNCERTAIN_FIELDS:
            if (attribute == uncertain or attribute.startswith(uncertain + ".")) and uncertain not in self.present:
                return False
        return True

    def secret_matches(self, path: str, value: str) -> bool | None:
        """Whether the server echoed exactly ``value`` at ``path`` (``layers.llm.api_key``); None when it
        cannot be told (not echoed, or echoed masked)."""
        digest = self._digests.get(path)
        if digest is None:
            return None
        return hmac.compare_digest(digest, _digest(value))
