"""reconciler.errors: one-line messages that say where (method and path), exit codes, and the hierarchy the
client's callers rely on (a 422 is a bad request, every API failure an ApiError)."""

from __future__ import annotations

from reconciler import errors as e


def test_an_api_error_names_the_request():
    err = e.NotFoundError("Invalid replica_id", status_code=400, method="GET", path="/v2/replicas/r1")
    assert str(err) == "GET /v2/replicas/r1: Invalid replica_id"
    assert (err.status_code, err.method, err.path) == (400, "GET", "/v2/replicas/r1")
    assert str(e.ApiError("no where")) == "no where"


def test_config_error_keeps_every_diagnostic_and_shows_the_first():
    err = e.ConfigError(["f.yaml:1:1: a", "f.yaml:2:1: b"])
    assert str(err) == "f.yaml:1:1: a" and err.diagnostics == ["f.yaml:1:1: a", "f.yaml:2:1: b"]
    assert str(e.ConfigError([])) == "invalid configuration"


def test_the_hierarchy():
    for cls in (e.AuthError, e.NotFoundError, e.BadRequestError, e.RetriesExhaustedError,
                e.CreateOutcomeUnknownError, e.MalformedResponseError, e.InconsistentListError):
        assert issubclass(cls, e.ApiError)
    assert issubclass(e.InvalidPatchError, e.BadRequestError) and issubclass(e.EditorDraftError, e.BadRequestError)
    for cls in (e.ConfigError, e.UsageError, e.ApiError, e.PlanError):
        assert issubclass(cls, e.ReconcilerError) and cls.exit_code == 1
