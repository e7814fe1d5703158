"""Exceptions. Every one carries a single-line, secret-free message that the CLI prints as is."""

from __future__ import annotations


class ReconcilerError(Exception):
    """Base class: a failure the CLI reports as one line and exit code ``exit_code``."""

    exit_code = 1


class ConfigError(ReconcilerError):
    """The desired-state file is missing, unreadable or invalid.

    ``diagnostics`` holds every problem found, each already formatted as ``FILE:LINE:COL: message``.
    """

    def __init__(self, diagnostics: list[str]):
        self.diagnostics = list(diagnostics)
        super().__init__(self.diagnostics[0] if self.diagnostics else "invalid configuration")


class UsageError(ReconcilerError):
    """A bad flag, environment variable or argument combination."""


class ApiError(ReconcilerError):
    """The Tavus API answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status_code: int | None = None, method: str = "", path: str = ""):
        self.status_code = status_code
        self.method = method
        self.path = path
        where = f"{method} {path}".strip()
        super().__init__(f"{where}: {message}" if where else message)


class AuthError(ApiError):
    """401/403: the API key was refused."""


class NotFoundError(ApiError):
    """404: no such replica."""


class BadRequestError(ApiError):
    """400/409/422: the API refused the request as invalid."""


class RetriesExhaustedError(ApiError):
    """A retryable failure (429, 5xx, timeout, connection error) persisted past the retry budget."""


class CreateOutcomeUnknownError(ApiError):
    """A create's answer was lost and the account could not confirm, within the settle window, whether the
    replica was made. It is not sent again; the next run finds (adopts) it or creates it."""


class MalformedResponseError(ApiError):
    """The API answered with a body we cannot understand (not JSON, wrong shape)."""


class InconsistentListError(ApiError):
    """The pages of a listing contradict each other (an empty page before the promised total, a page of ids
    already seen, more items than the total, a total that kept changing): no plan may be computed from it."""


class PlanError(ReconcilerError):
    """The plan cannot be computed or executed safely (ambiguous names, protected replicas, stale plan)."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(self.problems[0] if self.problems else "plan error")


class InvalidPatchError(BadRequestError):
    """The server refused a JSON Patch (422 "Invalid JSON patch format"): a bug in the patch, not the account."""


class EditorDraftError(BadRequestError):
    """409 ``"conflict": "maker_changes"``: someone left unpublished changes to the persona in Tavus's visual
    editor (PAL Maker). Drift a person made: a PATCH overwrites it only when the user opts in (``?force=true``,
    ``--discard-editor-drafts PERSONA``), never silently."""
