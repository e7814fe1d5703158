"""The simulator's fake account: stored replicas, training progress and the ``/v2/replicas`` operations.

No HTTP here: ``reconciler.sim.simulator`` serves this account over a loopback HTTP server, with auth, faults,
the request log, fake media and the ``/_sim/`` control endpoints. Stdlib only.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

MODELS = ("phoenix-3", "phoenix-4", "phoenix-4.5")
DEFAULT_MODEL = "phoenix-4"
# models whose training has a fine-tune phase after a watermarked preview (page "Phoenix-4.5 Preview and
# Status"): their answers carry finetune_status (null while it runs, then completed or errored)
FINETUNE_MODELS = ("phoenix-4.5",)
DEFAULT_LIMIT = 10

STOCK_REPLICAS: tuple[dict[str, Any], ...] = (
    {"replica_id": "r9fa0878977", "replica_name": "Anna - Office", "created_at": "2024-01-10T09:00:00.000Z"},
    {"replica_id": "rb17cf590e15", "replica_name": "Charlie - Studio", "created_at": "2024-01-11T09:00:00.000Z"},
    {"replica_id": "r3c4a8e2d1f", "replica_name": "Mia - Lounge", "created_at": "2024-01-12T09:00:00.000Z"},
)

_PAYLOAD_FIELDS = ("train_video_url", "train_image_url", "voice_name", "consent_video_url", "callback_url")
_ADD_FIELDS = frozenset({"replica_id", "replica_name", "status", "error_message", "model_name", "replica_type",
                         "created_at", "updated_at", "training_progress", "thumbnail_video_url", "finetune_status",
                         *_PAYLOAD_FIELDS})
_UNSET: Any = object()



class ApiError(Exception):
    """An API error answer: status code and JSON body ``{"message": ...}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, *,
                 error_key: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.payload = {"error" if error_key else "message": message}  # the reference's 400s use "error"


@lru_cache(maxsize=65536)
def _iso(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds, like ``2024-01-10T09:00:00.000Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_iso(text: str) -> float:
    """Epoch seconds of an ISO 8601 string (``Z`` allowed); naive times are taken as UTC."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def new_replica_id() -> str:
    """An id shaped like Tavus's: ``r`` and 10 hex characters."""
    return "r" + secrets.token_hex(5)


@dataclass(eq=False)
class _Replica:
    """One stored replica. ``status == "started"`` means it trains from ``started_mono``."""

    replica_id: str
    replica_name: str
    replica_type: str
    model_name: str
    status: str
    created_epoch: float
    seq: int
    started_mono: float = 0.0
    updated_epoch: float = 0.0
    error_message: str | None = None
    fixed_progress: str | None = None
    payload: dict[str, str] = field(default_factory=dict)
    fixed_finetune: str | None = None  # a fixed replica of a FINETUNE_MODELS model: its finetune_status
    # a fixed (not training) replica's answer for a listing page: ((base_url, verbose), object, its JSON);
    # dropped whenever the replica changes (rename, finish)
    cached: tuple[Any, dict[str, Any], bytes] | None = field(default=None, repr=False)

    @property
    def finetunes(self) -> bool:
        return self.model_name in FINETUNE_MODELS

    @property
    def training_url(self) -> str:
        return self.payload.get("train_video_url") or self.payload.get("train_image_url") or ""

    def finetune(self, train_seconds: float, finetune_seconds: float) -> tuple[str | None, str | None]:
        """(finetune_status, finetune_progress) as of now, for a model with a fine-tune phase: the fine-tune runs
        for ``finetune_seconds`` after the preview (``status: completed``) and errors half-way when the training
        URL contains ``errored``."""
        if self.status != "started":
            return (self.fixed_finetune, None) if self.status in ("completed", "ready") else (None, None)
        elapsed = time.monotonic() - self.started_mono - train_seconds
        if elapsed < 0 or "fail" in self.training_url:
            return None, None
        pct = 100 if finetune_seconds <= 0 else min(100, int(100 * elapsed / finetune_seconds))
        if "errored" in self.training_url and pct >= 50:
            return "errored", None
        return ("completed", None) if pct >= 100 else (None, f"{pct}/100")

    def state(self, train_seconds: float) -> tuple[str, str, str | None, float]:
        """(status, training_progress, error_message, updated epoch) as of now."""
        if self.status != "started":
            default = "100/100" if self.status in ("completed", "ready") else "0/100"
            return self.status, self.fixed_progress or default, self.error_message, self.updated_epoch
        elapsed = time.monotonic() - self.started_mono
        pct = 100 if train_seconds <= 0 else min(100, int(100 * elapsed / train_seconds))
        if "fail" in self.training_url and pct >= 50:
            what = "video" if self.payload.get("train_video_url") else "image"
            message = f"training failed: the {what} has no detectable face"
            return "error", "50/100", message, max(self.updated_epoch, self.created_epoch + train_seconds / 2)
        if pct >= 100:
            return "completed", "100/100", None, max(self.updated_epoch, self.created_epoch + train_seconds)
        return "started", f"{pct}/100", None, self.updated_epoch

    def to_api(self, base_url: str, train_seconds: float, verbose: bool = True,
               finetune_seconds: float = 0.0) -> dict[str, Any]:
        """The API-shaped object (training URLs are never shown, like the real API)."""
        status, progress, error, updated = self.state(train_seconds)
        out: dict[str, Any] = {
            "replica_id": self.replica_id,
            "replica_name": self.replica_name,
            "status": status,
            "training_progress": progress,
            "thumbnail_video_url": f"{base_url}/media/{self.replica_id}-thumb.mp4" if status == "completed" else None,
            "created_at": _iso(self.created_epoch),
            "updated_at": _iso(updated),
            "error_message": error,
            "replica_type": self.replica_type,
        }
        if verbose:
            out["model_name"] = self.model_name
        if self.finetunes:  # phoenix-4.5: completed is a watermarked preview until the fine-tune completes
            out["finetune_status"], ft_progress = self.finetune(train_seconds, finetune_seconds)
            if ft_progress is not None:
                out["finetune_progress"] = ft_progress  # not documented; tolerated by the client when sent
        return out


    def listed(self, base_url: str, train_seconds: float, verbose: bool,
               finetune_seconds: float) -> tuple[dict[str, Any], bytes]:
        """(the API object, its JSON) for a listing page; kept while the replica is fixed (its answer only
        changes when it does), computed afresh while it trains (its progress is read from the clock)."""
        key = (base_url, verbose)
        if self.cached is not None and self.cached[0] == key:
            return self.cached[1], self.cached[2]
        out = self.to_api(base_url, train_seconds, verbose, finetune_seconds)
        raw = json.dumps(out).encode()
        if self.status != "started":
            self.cached = (key, out, raw)
        return out, raw


class Page(dict):
    """A listing page ``{"data": [...], "total_count": N}`` that also carries its JSON (``raw``, what
    ``json.dumps`` of it gives), joined from the replicas' cached JSON: a page costs its own size, not a
    re-encoding of every object. Its objects are shared with the cache: read them, never change them."""

    raw: bytes

    @classmethod
    def of(cls, items: list[tuple[dict[str, Any], bytes]], total: int) -> Page:
        page = cls(data=[obj for obj, _ in items], total_count=total)
        page.raw = b'{"data": [' + b", ".join(raw for _, raw in items) + b'], "total_count": ' \
            + str(total).encode() + b"}"
        return page


class Account:
    """The fake account: the stored replicas, their training clock and the ``/v2/replicas`` operations.

    Thread-safe (one lock). The operations raise :class:`ApiError` with the status and message the API
    documents; the HTTP layer (``reconciler.sim.simulator``) turns them into answers. ``train_seconds`` may be
    changed at run time; progress is always computed from it at read time. ``base_url`` is where the
    simulator serves (thumbnail URLs point there).
    """

    def __init__(self, *, train_seconds: float = 60.0, max_page_size: int = 100, finetune_seconds: float = 0.0):
        self.train_seconds = float(train_seconds)
        self.finetune_seconds = float(finetune_seconds)  # phoenix-4.5's fine-tune after the preview (a knob)
        self.max_page_size = max(1, int(max_page_size))
        self.base_url = ""
        self._lock = threading.Lock()
        self._replicas: dict[str, _Replica] = {}
        self._order: list[_Replica] = []  # ascending (created, seq); newest last
        self._sorted = True
        self._seq = 0
        self._filtered: tuple[Any, list] = (None, [])  # (store state, newest-first filtered list) for list()

    # ------------------------------------------------------------------ direct state access

    def replicas(self, include_system: bool = False) -> list[dict[str, Any]]:
        """API-shaped (verbose) replicas, newest first; user replicas only unless ``include_system``."""
        with self._lock:
            items = self._newest_first()
            return [r.to_api(self.base_url, self.train_seconds, finetune_seconds=self.finetune_seconds) for r in items
                    if include_system or r.replica_type != "system"]

    def add_replica(self, **fields: Any) -> dict[str, Any]:
        """Insert a replica directly (not logged). ``status="started"`` trains from now; others are fixed."""
        unknown = set(fields) - _ADD_FIELDS
        if unknown:
            raise ValueError(f"unknown replica field(s): {', '.join(sorted(unknown))}")
        now = time.time()
        created = _parse_iso(fields["created_at"]) if fields.get("created_at") else now
        updated = _parse_iso(fields["updated_at"]) if fields.get("updated_at") else created
        status = str(fields.get("status") or "completed")
        with self._lock:
            rid = str(fields.get("replica_id") or self._fresh_id())
            if rid in self._replicas:
                raise ValueError(f"replica {rid} already exists")
            error = fields.get("error_message")
            if status == "error" and not error:
                error = "training failed"
            rec = _Replica(
                replica_id=rid,
                replica_name=str(fields.get("replica_name") or f"replica-{rid}"),
                replica_type=str(fields.get("replica_type") or "user"),
                model_name=str(fields.get("model_name") or DEFAULT_MODEL),
                status=status, created_epoch=created, seq=0, started_mono=time.monotonic(),
                updated_epoch=updated, error_message=error, fixed_progress=fields.get("training_progress"),
                payload={k: str(fields[k]) for k in _PAYLOAD_FIELDS if fields.get(k)},
                fixed_finetune=fields.get("finetune_status", "completed"))
            self._insert(rec)
            return rec.to_api(self.base_url, self.train_seconds, finetune_seconds=self.finetune_seconds)

    def delete(self, replica_id: str) -> None:
        """Remove a replica directly (no error if it does not exist)."""
        with self._lock:
            rec = self._replicas.pop(replica_id, None)
            if rec is not None:
                self._order.remove(rec)

    def rename(self, replica_id: str, name: str) -> None:
        """Rename a replica directly, as a person in the portal would (not logged)."""
        with self._lock:
            self._replicas[replica_id].replica_name = name
            self._replicas[replica_id].updated_epoch = time.time()
            self._replicas[replica_id].cached = None

    def finish(self, replica_id: str, status: str = "completed", error_message: str | None = None,
               finetune_status: str | None = _UNSET) -> None:
        """End a replica's training now (``completed``, or ``error`` with a message), as if its hours were up. A
        phoenix-4.5 replica: ``finetune_status`` None leaves it a preview, ``errored`` fails its fine-tune
        (default: completed)."""
        with self._lock:
            rec = self._replicas[replica_id]
            rec.fixed_finetune = "completed" if finetune_status is _UNSET else finetune_status
            rec.status, rec.updated_epoch = status, time.time()
            rec.error_message = error_message or ("training failed" if status == "error" else None)
            rec.cached = None

    # ------------------------------------------------------------------ the API operations

    def list(self, query: dict[str, str]) -> dict[str, Any]:
        limit = _positive_int(query, "limit", DEFAULT_LIMIT)
        page = _positive_int(query, "page", 1)
        verbose = query.get("verbose", "").lower() in ("true", "1", "yes")
        rtype = query.get("replica_type") or None
        if rtype not in (None, "user", "system"):
            raise ApiError(400, "replica_type must be user or system")
        ids = [i.strip() for i in query.get("replica_ids", "").split(",") if i.strip()]
        model = query.get("model_name") or None
        size = min(limit, self.max_page_size)
        start = (page - 1) * size
        with self._lock:
            if ids:
                chosen = sorted({i: self._replicas[i] for i in ids if i in self._replicas}.values(),
                                key=lambda r: (r.created_epoch, r.seq), reverse=True)
                matches = [r for r in chosen if (rtype is None or r.replica_type == rtype)
                           and (model is None or r.model_name == model)]
            elif rtype is None and model is None:
                asc = self._ascending()
                n = len(asc)
                window = [asc[n - 1 - i] for i in range(start, min(start + size, n))]
                return self._page(window, n, verbose)
            else:  # filtered once per state of the store, not once per page (a 10k listing read 100 x 10k)
                key = (rtype, model, len(self._order), self._seq)
                if self._filtered[0] != key:
                    self._filtered = (key, [r for r in reversed(self._ascending())
                                            if (rtype is None or r.replica_type == rtype)
                                            and (model is None or r.model_name == model)])
                matches = self._filtered[1]
            return self._page(matches[start:start + size], len(matches), verbose)

    def get(self, rid: str, query: dict[str, str]) -> dict[str, Any]:
        verbose = query.get("verbose", "").lower() in ("true", "1", "yes")
        with self._lock:
            rec = self._replicas.get(rid)
            if rec is None:
                raise ApiError(400, "Invalid replica_id", error_key=True)
            return rec.to_api(self.base_url, self.train_seconds, verbose, self.finetune_seconds)

    def create(self, body: bytes) -> dict[str, Any]:
        data = json_object(body)
        for key in ("replica_name", "model_name", *_PAYLOAD_FIELDS):
            if key in data and data[key] is not None and not isinstance(data[key], str):
                raise ApiError(400, f"{key} must be a string")
        props = data.get("properties")  # the documented switch: background_green_screen (bool); others kept as is
        if props is not None and (not isinstance(props, dict)
                                  or not isinstance(props.get("background_green_screen", False), bool)):
            raise ApiError(400, "properties must be an object (background_green_screen a boolean)", error_key=True)
        video, image, voice = data.get("train_video_url"), data.get("train_image_url"), data.get("voice_name")
        if video and (image or voice):
            raise ApiError(400, "provide either train_video_url or train_image_url with voice_name, not both")
        if not video and not (image and voice):
            if image or voice:
                raise ApiError(400, "train_image_url and voice_name must be given together")
            raise ApiError(400, "train_video_url is required (or train_image_url with voice_name)")
        model = data.get("model_name") or DEFAULT_MODEL
        if model not in MODELS:
            raise ApiError(400, f"invalid model_name {model!r}: expected one of {', '.join(MODELS)}")
        now = time.time()
        with self._lock:
            rid = self._fresh_id()
            rec = _Replica(replica_id=rid, replica_name=data.get("replica_name") or f"replica-{rid}",
                           replica_type="user", model_name=model, status="started", created_epoch=now, seq=0,
                           started_mono=time.monotonic(), updated_epoch=now,
                           payload={k: data[k] for k in _PAYLOAD_FIELDS if data.get(k)})
            self._insert(rec)
        return {"replica_id": rid, "status": "started"}

    def create_quietly(self, body: bytes) -> None:
        with contextlib.suppress(ApiError):
            self.create(body)

    def _user_replica(self, rid: str, verb: str):
        """The replica a rename or delete acts on (unknown: 400 "Invalid replica_id", as documented; 400 stock).
        Call with the lock held."""
        rec = self._replicas.get(rid)
        if rec is None:
            raise ApiError(400, "Invalid replica_id", error_key=True)
        if rec.replica_type == "system":
            raise ApiError(400, f"stock replicas cannot be {verb}")
        return rec

    def rename_api(self, rid: str, body: bytes) -> dict[str, Any]:
        data = json_object(body)
        name = data.get("replica_name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "replica_name must be a non-empty string")
        with self._lock:
            rec = self._user_replica(rid, "renamed")
            rec.replica_name = name
            rec.updated_epoch = time.time()
            rec.cached = None
        return {"message": "ok"}

    def delete_api(self, rid: str) -> dict[str, Any]:
        with self._lock:
            rec = self._user_replica(rid, "deleted")
            del self._replicas[rid]
            self._order.remove(rec)
        return {"message": "ok"}

    # ------------------------------------------------------------------ internals (call with the lock held)

    def _page(self, window: list[_Replica], total: int, verbose: bool) -> Page:
        return Page.of([r.listed(self.base_url, self.train_seconds, verbose, self.finetune_seconds)
                        for r in window], total)

    def _fresh_id(self) -> str:
        rid = new_replica_id()
        while rid in self._replicas:
            rid = new_replica_id()
        return rid

    def _insert(self, rec: _Replica) -> None:
        self._seq += 1
        rec.seq = self._seq
        if self._order and (rec.created_epoch, rec.seq) < (self._order[-1].created_epoch, self._order[-1].seq):
            self._sorted = False
        self._replicas[rec.replica_id] = rec
        self._order.append(rec)

    def _ascending(self) -> list[_Replica]:
        if not self._sorted:
            self._order.sort(key=lambda r: (r.created_epoch, r.seq))
            self._sorted = True
        return self._order

    def _newest_first(self) -> list[_Replica]:
        return self._ascending()[::-1]


def _positive_int(query: dict[str, str], key: str, default: int) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{key} must be a positive integer") from None
    if value < 1:
        raise ApiError(400, f"{key} must be a positive integer")
    return value


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data
