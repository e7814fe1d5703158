"""kinds/tools/models.py: names, secret paths, masking, tolerant parsing of API items."""

from __future__ import annotations

import pytest

from reconciler.api.redact import has_secret
from reconciler.kinds.tools.models import MASK, DesiredTool, RemoteTool, is_secret_path, secret_paths, valid_name


def item(**kw):
    return {"tool_id": "t1", "name": "lookup", "owner_id": 1, "is_system_tool": False,
            "delivery": {"api": {"url": "https://x.example/a", "auth": {"type": "bearer", "token": "********"}}}, **kw}


@pytest.mark.parametrize("name,ok", [("lookup_candidate", True), ("_x", True), ("a" * 64, True), ("a" * 65, False),
                                     ("1abc", False), ("acme-x", False), ("", False), ("a b", False), (None, False)])
def test_valid_name(name, ok):
    assert valid_name(name) is ok


def test_secret_paths_cover_auth_values_and_credential_headers_only():
    attrs = {"delivery": {"api": {"auth": {"type": "basic", "username": "u", "password": "p"},
                                  "headers": {"Authorization": "x", "X-Api-Key": "k", "X-Service": "bot"}}}}
    assert sorted(secret_paths(attrs)) == [("delivery", "api", "auth", "password"),
                                           ("delivery", "api", "headers", "Authorization"),
                                           ("delivery", "api", "headers", "X-Api-Key")]
    assert list(secret_paths({"delivery": {"app_message": True}})) == []
    assert is_secret_path(("delivery", "api", "auth", "client_secret"))
    assert not is_secret_path(("delivery", "api", "auth", "client_id"))
    assert not is_secret_path(("delivery", "api", "headers", "X-Service"))


def test_from_api_masks_and_digests_a_secret_echoed_in_clear():
    remote = RemoteTool.from_api(item(delivery={"api": {"auth": {"type": "bearer", "token": "clear-token-1234"}}}))
    assert remote.document["delivery"]["api"]["auth"]["token"] == MASK
    assert "clear-token-1234" not in repr(remote)
    assert has_secret("clear-token-1234")  # registered: no output path can print it
    assert remote.secret_matches("delivery.api.auth.token", "clear-token-1234") is True
    assert remote.secret_matches("delivery.api.auth.token", "other") is False


def test_a_masked_secret_cannot_be_compared():
    remote = RemoteTool.from_api(item())
    assert remote.secret_matches("delivery.api.auth.token", "anything") is None
    assert remote.name == "lookup" and remote.tool_id == "t1" and not remote.is_system
    assert "tool_id" not in remote.document


def test_from_api_is_tolerant():
    assert RemoteTool.from_api({"uuid": "t2"}).tool_id == "t2"
    assert RemoteTool.from_api({"tool_id": "end_call", "is_system_tool": True}).is_system
    assert RemoteTool.from_api({"tool_id": "t3", "name": 5, "delivery": "garbled"}).name is None
    with pytest.raises(KeyError):
        RemoteTool.from_api({"name": "x"})
    with pytest.raises(TypeError):
        RemoteTool.from_api({"tool_id": ""})


def test_desired_payload_and_shown():
    d = DesiredTool(name="lookup", attributes={"description": "d", "delivery": {
        "api": {"url": "https://x.example", "auth": {"type": "bearer", "token": "s3cret-value"}}}})
    assert d.create_payload()["delivery"]["api"]["auth"]["token"] == "s3cret-value"
    assert d.create_payload("other")["name"] == "other"
    assert d.shown()["delivery"]["api"]["auth"] == {"type": "bearer", "token": MASK}
    assert d.attributes["delivery"]["api"]["auth"]["token"] == "s3cret-value"  # shown() copies


def test_a_sealed_secret_never_formats_but_is_sent():
    import json

    import httpx

    from reconciler.kinds.tools.models import Secret, sealed

    attrs = sealed({"delivery": {"api": {"auth": {"type": "bearer", "token": "tok-value-9"}}}})
    token = attrs["delivery"]["api"]["auth"]["token"]
    assert isinstance(token, Secret) and token == "tok-value-9"
    assert "tok-value-9" not in f"{attrs} {token} {token!s} {token!r} {[token]}" and "%s" % token == MASK  # noqa: UP031
    assert json.loads(httpx.Request("POST", "http://x", json=attrs).content) == {
        "delivery": {"api": {"auth": {"type": "bearer", "token": "tok-value-9"}}}}
    import copy

    assert isinstance(copy.deepcopy(attrs)["delivery"]["api"]["auth"]["token"], Secret)
    assert attrs["delivery"]["api"]["auth"]["type"] == "bearer" and not isinstance(attrs["delivery"]["api"]["auth"][
        "type"], Secret)
