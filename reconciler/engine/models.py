"""Typed values shared by every module: what the file declares, what the API has, what a plan changes.

These are plain frozen dataclasses with no I/O, so the planner and renderers stay pure.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from reconciler.engine.rollout import Rollout, RolloutSettings
from reconciler.engine.status import Phase, replica_phase
from reconciler.kinds.personas.models import DesiredPersona

DEFAULT_MODEL = "phoenix-4"  # the server's current default (it has moved across generations; never sent unasked)
# the models this version knows; any phoenix-<version> (dotted too: phoenix-4.5) is accepted, with a warning
MODELS = ("phoenix-3", "phoenix-4", "phoenix-4.5")
MODEL_PATTERN = re.compile(r"phoenix-[0-9]+(?:\.[0-9]+)*\Z")
# documented create-time switches (booleans); any other key is sent as written, with a warning (issue 25:
# gaze_correction appears in no Tavus source, so it is no longer documented here)
PROPERTIES = ("background_green_screen",)


# --------------------------------------------------------------------------- desired state (the file)


@dataclass(frozen=True)
class DesiredReplica:
    """One entry of ``replicas:`` after defaults are merged and ``${VAR}``s are resolved.

    A field whose ``${VAR}`` is unset keeps its raw text and the variable is listed in ``missing_vars``:
    that is only an error where the value is needed (creating the replica).
    """

    name: str
    replica_id: str | None = None
    train_video_url: str | None = None
    train_image_url: str | None = None
    voice_name: str | None = None
    consent_video_url: str | None = None
    synthetic: bool = False
    model_name: str | None = None  # None: not declared, the server's default is used and never compared
    callback_url: str | None = None
    protect: bool = False
    missing_vars: tuple[str, ...] = ()
    line: int = 0  # 1-based line of the entry in the file, 0 if unknown
    consent_in_training_video: bool = False  # the consent statement opens the training video: none is sent
    properties: tuple[tuple[str, Any], ...] = ()  # create-time switches (background_green_screen, ...), sorted

    @property
    def urls(self) -> dict[str, str]:
        """The URLs that training downloads (checked by the preflight), by field name."""
        fields = ("train_video_url", "train_image_url", "consent_video_url")
        urls = {f: getattr(self, f) for f in fields if getattr(self, f)}
        if self.synthetic or self.consent_in_training_video:
            urls.pop("consent_video_url", None)  # not sent: not needed
        return urls

    def create_payload(self) -> dict[str, Any]:
        """The JSON body of ``POST /v2/replicas`` for this replica. ``model_name`` only when the file states
        it (the server's default has changed across model generations); nothing about consent when the
        consent is spoken in the training video."""
        body: dict[str, Any] = {"replica_name": self.name}
        if self.model_name:
            body["model_name"] = self.model_name
        if self.train_image_url:
            body["train_image_url"] = self.train_image_url
            if self.voice_name:
                body["voice_name"] = self.voice_name
        elif self.train_video_url:
            body["train_video_url"] = self.train_video_url
        if self.consent_video_url and not self.synthetic and not self.consent_in_training_video:
            body["consent_video_url"] = self.consent_video_url
        if self.callback_url:
            body["callback_url"] = self.callback_url
        if self.properties:
            body["properties"] = dict(self.properties)
        return body


DEFAULT_MASS_PERCENT = 30.0  # octoDNS's MAX_SAFE_DELETE_PCENT / MAX_SAFE_UPDATE_PCENT (issue 28)
DEFAULT_MASS_MIN_CHANGES = 3  # a plan deleting or replacing fewer objects of one kind is never a mass change


@dataclass(frozen=True)
class MassChangeSettings:
    """``settings.mass_change`` (issue 28): the guard refuses a plan deleting or replacing more than
    ``max_percent`` of the managed objects of one kind, and at least ``min_changes`` of them."""

    max_percent: float = DEFAULT_MASS_PERCENT
    min_changes: int = DEFAULT_MASS_MIN_CHANGES


@dataclass(frozen=True)
class Settings:
    prune: bool = False
    name_prefix: str | None = None  # None: the file owns every user replica
    discard_editor_drafts: tuple[str, ...] = ()  # personas whose unpublished editor drafts an update overwrites
    rollout: RolloutSettings = field(default_factory=RolloutSettings)  # how replaces roll (issue 19)
    whole_account: bool = False  # settings.scope.whole_account: prune may delete anything undeclared (issue 28)
    mass_change: MassChangeSettings = field(default_factory=MassChangeSettings)  # issue 28

    def in_scope(self, name: str) -> bool:
        return self.name_prefix is None or name.startswith(self.name_prefix)


@dataclass(frozen=True)
class Config:
    """A loaded, valid desired-state file."""

    path: str
    replicas: tuple[DesiredReplica, ...]
    settings: Settings = field(default_factory=Settings)
    version: int = 1
    warnings: tuple[str, ...] = ()  # located, e.g. "FILE:3:5: ${ANNA_URL} is not set"
    source: str = ""  # the file's text as read (before ${VAR} resolution): embedded in saved plans
    removed_names: tuple[str, ...] = ()  # `removed:`: released from management, never deleted (forget)
    removed_ids: tuple[str, ...] = ()
    personas: tuple[DesiredPersona, ...] = ()  # `personas:` (issue 17); empty for a replicas-only file
    policy: tuple[Any, ...] = ()  # policy.Rule: settings.policy, then --policy FILE's (issue 28)
    policy_findings: tuple[Any, ...] = ()  # policy.Finding of the rules checked on the file alone
    # the kinds the generic engine plans (reconciler.engine.objects): kind key -> declared entries (issue 26)
    objects: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    manages_replicas: bool = True  # False when the file has no replicas: section: never listed, never pruned

    def by_name(self) -> dict[str, DesiredReplica]:
        return {r.name: r for r in self.replicas}


# --------------------------------------------------------------------------- remote state (the API)


def _text(value: object) -> str | None:
    return value if value is None or type(value) is str else str(value)


_WORDS: dict[str, str] = {}


def _word(value: object) -> str | None:
    """A value many replicas share ("completed", "phoenix-4", "user"): one string object for all of them."""
    if value is None:
        return None
    text = value if type(value) is str else str(value)
    return _WORDS.setdefault(text, text) if len(text) <= 32 and len(_WORDS) < 4096 else text


@dataclass(frozen=True, slots=True)
class RemoteReplica:
    """A replica as the Tavus API reports it. Unknown fields are ignored, optional ones may be None.

    Slotted, its repeated words (status, model, type, progress) shared: a 100,000-replica account is held in
    memory at once (issue 29: about 0.5 KiB a replica, not 1.1)."""

    replica_id: str
    name: str
    status: str = "started"
    training_progress: str | None = None  # e.g. "45/100"
    model_name: str | None = None
    replica_type: str = "user"  # "user" | "system"
    created_at: str | None = None
    updated_at: str | None = None
    error_message: str | None = None
    thumbnail_video_url: str | None = None
    # phoenix-4.5 and later (issue 25): ``finetunes`` is whether the answer carries ``finetune_status`` at all
    # (null while the fine-tune runs); ``finetune_progress`` is read when a server sends one (uncertain)
    finetune_status: str | None = None
    finetunes: bool = False
    finetune_progress: str | None = None

    @property
    def phase(self) -> Phase:
        return replica_phase(self.status, self.finetune_status, self.finetunes)

    @property
    def preview(self) -> bool:
        """A watermarked zero-shot preview whose fine-tune still runs: never ready for production."""
        return self.phase is Phase.PREVIEW

    @property
    def failure(self) -> str | None:
        """Why it failed, in words (the server's message, or that the fine-tune errored); None unless failed."""
        if self.phase is not Phase.FAILED:
            return None
        if self.error_message:
            return self.error_message
        return "the fine-tune errored (the preview stays watermarked)" if self.finetunes else None

    @property
    def progress_percent(self) -> float | None:
        """``training_progress`` ("45/100", "45", "45%") as a percentage, None when absent or unreadable; of a
        preview, the fine-tune's progress when the server sends one (else None: the preview itself is done)."""
        if self.finetunes and self.phase is Phase.PREVIEW:
            return _percent(self.finetune_progress)
        return _percent(self.training_progress)

    @classmethod
    def from_api(cls, data: Mapping[str, object]) -> RemoteReplica:
        """Build from one API object (``replica_*`` or the newer ``face_*`` names). Raises KeyError/TypeError
        when the id is missing; the client maps that to MalformedResponseError."""

        get, words = data.get, _WORDS  # hot path: a large account lists tens of thousands of these
        rid = get("replica_id") or get("face_id")
        if type(rid) is not str:
            rid = _text(rid)
        if not rid:
            raise KeyError("replica_id")
        name = get("replica_name")
        if name is None:
            name = get("face_name")
        status, progress, model = get("status"), get("training_progress"), get("model_name")
        kind = get("replica_type") or get("face_type")
        created, updated = get("created_at"), get("updated_at")
        error, thumbnail = get("error_message"), get("thumbnail_video_url")
        # plain JSON strings (or null) take the fast lane; anything else is made text as before
        return _new_replica(
            cls, rid,
            name if type(name) is str else _text(name) or "",
            (words.get(status) or _word(status) if type(status) is str else _word(status)) or "started",
            words.get(progress) or _word(progress) if type(progress) is str else _word(progress),
            words.get(model) or _word(model) if type(model) is str else _word(model),
            (words.get(kind) or _word(kind) if type(kind) is str else _word(kind)) or "user",
            created if created is None or type(created) is str else (created := str(created)),
            created if updated == created else updated if updated is None or type(updated) is str else str(updated),
            error if error is None or type(error) is str else str(error),
            thumbnail if thumbnail is None or type(thumbnail) is str else str(thumbnail),
            _text(get("finetune_status")), "finetune_status" in data, _text(get("finetune_progress")))


def _new_replica(cls, *values) -> RemoteReplica:
    """A RemoteReplica from its field values in order, without the frozen dataclass's keyword ``__init__``
    (ten ``object.__setattr__`` calls: half the cost of listing a replica)."""
    r = object.__new__(cls)
    for setter, value in zip(_SETTERS, values, strict=True):
        setter(r, value)
    return r


_SETTERS = tuple(RemoteReplica.__dict__[f.name].__set__ for f in fields(RemoteReplica))


def _percent(value: str | None) -> float | None:
    """A progress string ("45/100", "45", "45%") as a percentage, None when absent or unreadable."""
    text = (value or "").strip().rstrip("%")
    if not text:
        return None
    try:
        if "/" in text:
            done, total = text.split("/", 1)
            return max(0.0, min(100.0, 100.0 * float(done) / float(total)))
        return max(0.0, min(100.0, float(text)))
    except (ValueError, ZeroDivisionError):
        return None


# --------------------------------------------------------------------------- the plan


class Action(enum.StrEnum):
    CREATE = "create"
    RENAME = "rename"
    REPLACE = "replace"
    DELETE = "delete"
    UPDATE = "update"  # in place (personas: one JSON Patch)

    @property
    def symbol(self) -> str:
        return {"create": "+", "rename": "~", "replace": "-/+", "delete": "-", "update": "~"}[self.value]


@dataclass(frozen=True)
class Change:
    """One change the plan makes.

    ``name`` is the declared name (create, rename's new name, replace) or the remote name (delete).
    ``replica_id`` is the existing replica the change acts on (None for create).
    ``before``/``after`` are the attributes shown in diffs (URLs are redacted by the renderers).
    ``desired`` is set for create and replace: what gets POSTed.
    A replace is blue/green: the successor is created under a marked name (``reconciler.engine.successor``) and takes
    the declared name only once trained and the old replica is deleted.
    """

    action: Action
    name: str
    reason: str
    replica_id: str | None = None
    before: Mapping[str, object] | None = None
    after: Mapping[str, object] | None = None
    desired: DesiredReplica | None = None
    # replace only: how far the blue/green replace is (see reconciler.engine.successor): "create" (successor not
    # made yet), "training", "swap" (successor ready, old still there), "rename" (old gone); and the
    # successor's id once it exists (on a delete: the failed successor of a replace being removed).
    phase: str | None = None
    successor_id: str | None = None
    # personas (issue 17): kind "personas"; ``persona_id`` the existing persona (update, delete);
    # ``persona`` what a create/update declares; ``patch`` the JSON Patch an update sends (values may be
    # secrets: renderers mask them); ``diff`` (path, old, new) rows shown in plans (secrets already masked);
    # ``uncomparable`` declared attributes the API does not return (not compared; sent on create);
    # ``ref_replica``: a replica created by this same apply whose id becomes default_replica_id.
    kind: str = "replicas"
    persona_id: str | None = None
    persona: Any = None
    patch: tuple[Mapping[str, Any], ...] = ()
    diff: tuple[tuple[str, object, object], ...] = ()
    uncomparable: tuple[str, ...] = ()
    ref_replica: str | None = None
    resent: tuple[str, ...] = ()  # personas, --resend: uncomparable attributes sent as declared (dotted)
    # personas (issue 25), --discard-editor-drafts / settings.discard_editor_drafts: the update is sent with
    # ?force=true, overwriting an unpublished draft someone left in Tavus's editor
    discard_drafts: bool = False
    # the generic engine (reconciler.engine.objects, issue 26): the existing object a change acts on, and the
    # references the create/update binds: (reference field, referenced kind, declared name, id or None when the
    # referenced object is created by this same apply)
    object_id: str | None = None
    refs: tuple[tuple[str, str, str, str | None], ...] = ()


@dataclass(frozen=True)
class Plan:
    """The planner's output: desired + remote -> what to change, and what to report."""

    changes: tuple[Change, ...] = ()
    pending: tuple[RemoteReplica, ...] = ()  # declared, present, still training
    ready: tuple[RemoteReplica, ...] = ()  # declared, present, completed
    unmanaged: tuple[RemoteReplica, ...] = ()  # in scope, not declared, not pruned
    errors: tuple[str, ...] = ()  # refusals: the plan must not be applied while any exist
    warnings: tuple[str, ...] = ()
    missing_vars: tuple[str, ...] = ()  # ${VAR}s that a create needs and the environment lacks
    forgotten: tuple[RemoteReplica, ...] = ()  # listed under `removed:`: released, kept on the account, no API call
    unmanaged_personas: tuple[Any, ...] = ()  # RemotePersona in scope, not declared, not pruned
    uncompared: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (persona, attributes the API does not return)
    rollout: Rollout | None = None  # the order, canary and batches of the replaces (None: no replace)
    forgotten_personas: tuple[Any, ...] = ()  # RemotePersona listed under `removed:`: released, no API call
    unmanaged_objects: tuple[tuple[str, Any], ...] = ()  # generic kinds (issue 26): (kind key, remote object)
    forgotten_objects: tuple[tuple[str, Any], ...] = ()  # generic kinds under `removed:` (issue 27): never deleted
    checked: tuple[tuple[str, str], ...] | None = None  # plan --check: (kind, name) the API validated
    safety: Any = None  # policy.Safety: scope, policy rules and mass-change guard as plan/apply checked them

    @property
    def summary(self) -> dict[str, int]:
        """Changes per action; ``update`` (personas, in place) only when there is one, so replica-only plans
        keep their documented shape."""
        counts = {a.value: 0 for a in Action if a is not Action.UPDATE}
        for c in self.changes:
            counts[c.action.value] = counts.get(c.action.value, 0) + 1
        return counts

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)
