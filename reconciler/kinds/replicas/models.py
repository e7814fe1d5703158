"""The replica kind's models: a declared replica (:class:`DesiredReplica`, from the file) and one as the API
reports it (:class:`RemoteReplica`, tolerant: unknown fields ignored), plain frozen dataclasses with no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from reconciler.engine.status import Phase
from reconciler.kinds.replicas.readiness import replica_phase

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
    memory at once (issue 29: about 0.5 KiB a replica, not 1.1). The API's ``thumbnail_video_url`` is not kept
    (nothing shows or compares it; a URL is one more thing to redact): 0.1 KiB a replica less."""

    replica_id: str
    name: str
    status: str = "started"
    training_progress: str | None = None  # e.g. "45/100"
    model_name: str | None = None
    replica_type: str = "user"  # "user" | "system"
    created_at: str | None = None
    updated_at: str | None = None
    error_message: str | None = None
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
        error = get("error_message")  # (thumbnail_video_url is not kept: nothing reads it, 10 MB of 100,000)
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
            _text(get("finetune_status")), "finetune_status" in data, _text(get("finetune_progress")))


# the slots' own setters, in field order: what the frozen dataclass's ``__init__`` does through twelve
# ``object.__setattr__`` calls by keyword (half the cost of listing a replica)
_SETTERS = tuple(RemoteReplica.__dict__[f.name].__set__ for f in fields(RemoteReplica))
(_set_id, _set_name, _set_status, _set_progress, _set_model, _set_type, _set_created, _set_updated, _set_error,
 _set_ft_status, _set_finetunes, _set_ft_progress) = _SETTERS
_new = object.__new__


def _new_replica(cls, rid, name, status, progress, model, kind, created, updated, error, ft_status, finetunes,
                 ft_progress) -> RemoteReplica:
    """A RemoteReplica from its field values in order (the setters called one by one, not in a loop over a
    zip: a third less CPU per replica listed, issue 29)."""
    r = _new(cls)
    _set_id(r, rid)
    _set_name(r, name)
    _set_status(r, status)
    _set_progress(r, progress)
    _set_model(r, model)
    _set_type(r, kind)
    _set_created(r, created)
    _set_updated(r, updated)
    _set_error(r, error)
    _set_ft_status(r, ft_status)
    _set_finetunes(r, finetunes)
    _set_ft_progress(r, ft_progress)
    return r


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
