"""Documents (the knowledge base) as the file declares them and as the API reports them.

A document is made from a URL (a file, or a web site crawled to ``crawl.depth`` / ``crawl.max_pages``) and
processed asynchronously, like a replica's training: ``started`` / ``processing`` / ``recrawling`` are
pending, ``ready`` is ready, ``error`` is failed (``error_message`` carries a code such as
``file_download_failed``); any other word is pending, shown as is. Only ``document_name`` and ``tags`` can be
changed in place; the URL and the crawl are what the document IS: a change is a replace.

A presigned URL (S3, GCS, Azure) is compared without its signing parameters (:func:`url_key`): re-signing
the same object is not a change, and the signature is never kept where a plan could show it (renderers
redact every URL anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reconciler.engine.status import Phase

STATUS_PHASES: dict[str, Phase] = {
    "started": Phase.PENDING,
    "processing": Phase.PENDING,
    "recrawling": Phase.PENDING,  # a ready document being crawled again: it keeps serving meanwhile
    "ready": Phase.READY,
    "completed": Phase.READY,  # tolerated: the replica vocabulary
    "error": Phase.FAILED,
    "failed": Phase.FAILED,
}
CRAWL_KEYS = ("depth", "max_pages")
# query parameters that sign a URL rather than name the object (S3/GCS presigned, CloudFront, Azure SAS)
_SIGNING_PREFIXES = ("x-amz-", "x-goog-")
_SIGNING_PARAMS = frozenset({"signature", "expires", "key-pair-id", "policy", "sig", "se", "st", "sp", "sv", "sr",
                             "spr", "skoid", "sktid", "skt", "ske", "sks", "skv", "googleaccessid",
                             "awsaccesskeyid"})


def phase_of(status: str | None) -> Phase:
    """The phase of a document's status word; unknown words (and none) are pending."""
    return STATUS_PHASES.get((status or "").strip().lower(), Phase.PENDING)


def is_known(status: str | None) -> bool:
    return (status or "").strip().lower() in STATUS_PHASES


def url_key(url: str | None) -> str | None:
    """``url`` as compared: without the parameters that sign it (re-signing is no change), host lower-cased.
    Text that does not parse as a URL is compared as is."""
    if not url:
        return url
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_SIGNING_PREFIXES) and k.lower() not in _SIGNING_PARAMS]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(sorted(kept)), ""))


def unsigned_url(url: str) -> str:
    """``url`` without the query parameters that sign it (what ``export`` writes: never a signature)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_SIGNING_PREFIXES) and k.lower() not in _SIGNING_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _strings(value: Any) -> tuple[str, ...] | None:
    """A list of strings (others dropped); None when the field is not a list (not returned, or garbled)."""
    if not isinstance(value, list):
        return None
    return tuple(v for v in value if isinstance(v, str))


def _crawl(value: Any) -> tuple[tuple[str, Any], ...] | None:
    """A crawl config as sorted pairs of its documented keys; None when absent or not an object."""
    if not isinstance(value, Mapping):
        return None
    return tuple(sorted((k, value[k]) for k in CRAWL_KEYS if k in value))


@dataclass(frozen=True)
class DesiredDocument:
    """One entry of ``documents:`` after ``${VAR}``s are resolved.

    ``extra`` holds the fields this version does not document, sent on create as written (a warning named
    them); ``custom_description`` / ``participant_tags`` / ``callback_url`` are create-time inputs, never
    compared. A field whose ``${VAR}`` is unset keeps its raw text and the variable is in ``missing_vars``."""

    name: str
    document_url: str | None = None
    document_id: str | None = None  # pinned / adopted (export writes it)
    tags: tuple[str, ...] | None = None  # None: not declared (never compared); () declares "no tags"
    crawl: tuple[tuple[str, Any], ...] | None = None  # sorted (depth, max_pages) pairs
    callback_url: str | None = None
    custom_description: str | None = None
    participant_tags: tuple[str, ...] | None = None
    extra: tuple[tuple[str, Any], ...] = ()
    protect: bool = False
    missing_vars: tuple[str, ...] = ()
    line: int = 0
    url_unknown: bool = False  # document_url holds an unset ${VAR}: its value is unknown, never compared

    @property
    def urls(self) -> dict[str, str]:
        """The URL processing downloads (checked by apply's preflight: a wrong presigned URL fails in seconds,
        not as ``file_download_failed`` later), by field name."""
        return {"document_url": self.document_url} if self.document_url and not self.url_unknown else {}

    def create_payload(self, name: str | None = None) -> dict[str, Any]:
        """The JSON body of ``POST /v2/documents`` (under ``name`` when given: a replace's marked successor)."""
        body: dict[str, Any] = {"document_name": name or self.name}
        if self.document_url is not None:
            body["document_url"] = self.document_url
        if self.tags is not None:
            body["tags"] = list(self.tags)
        if self.crawl is not None:
            body["crawl"] = dict(self.crawl)
        if self.callback_url:
            body["callback_url"] = self.callback_url
        if self.custom_description is not None:
            body["custom_description"] = self.custom_description
        if self.participant_tags is not None:
            body["participant_tags"] = list(self.participant_tags)
        for key, value in self.extra:
            body.setdefault(key, value)
        return body


@dataclass(frozen=True, slots=True)
class RemoteDocument:
    """A document as the API reports it. Tolerant: only the id is required (``document_id``, or ``uuid`` as
    one older example shows); ``document_url`` / ``tags`` / ``crawl`` are None when not returned (then they
    cannot be compared)."""

    document_id: str
    name: str = ""
    status: str = "started"
    progress: str | None = None
    error_message: str | None = None
    document_url: str | None = None
    tags: tuple[str, ...] | None = None
    crawl: tuple[tuple[str, Any], ...] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    last_crawled_at: str | None = None
    crawl_count: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteDocument:
        """Build from one API item; KeyError/TypeError when the id is missing (the client maps it to
        MalformedResponseError)."""
        did = data.get("document_id") or data.get("uuid") or data.get("id")
        if not isinstance(did, str) or not did:
            raise KeyError("document_id")
        count = data.get("crawl_count")
        crawl = data.get("crawl_config") if "crawl_config" in data else data.get("crawl")
        return cls(
            document_id=did, name=_text(data.get("document_name")) or "",
            status=_text(data.get("status")) or "started", progress=_text(data.get("progress")),
            error_message=_text(data.get("error_message")), document_url=_text(data.get("document_url")),
            tags=_strings(data.get("tags")), crawl=_crawl(crawl),
            created_at=_text(data.get("created_at")), updated_at=_text(data.get("updated_at")),
            last_crawled_at=_text(data.get("last_crawled_at")),
            crawl_count=count if isinstance(count, int) and not isinstance(count, bool) else None)

    @property
    def phase(self) -> Phase:
        return phase_of(self.status)

    @property
    def failure(self) -> str | None:
        """Why processing failed (the server's code or message); None unless failed."""
        if self.phase is not Phase.FAILED:
            return None
        return self.error_message or "no error message"

    @property
    def progress_percent(self) -> float | None:
        """``progress`` (``45``, ``"45%"``, ``"45/100"``, ``0.45`` is read as 0.45%) as a percentage, or None."""
        text = (self.progress or "").strip().rstrip("%")
        if not text:
            return None
        try:
            if "/" in text:
                done, total = text.split("/", 1)
                return max(0.0, min(100.0, 100.0 * float(done) / float(total)))
            return max(0.0, min(100.0, float(text)))
        except (ValueError, ZeroDivisionError):
            return None
