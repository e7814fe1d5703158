"""kinds/tools/kind.py: identity, the diff (in place, exact vs declared members, masked secrets), --resend, the
PATCH body, the API table, and the attach/detach calls."""

from __future__ import annotations

import pytest

from reconciler.errors import BadRequestError, NotFoundError
from reconciler.kinds.tools.kind import API, MAX_ATTACHED, TOOLS, attach, attached, attachment_changes, detach, shown
from reconciler.kinds.tools.models import MASK, DesiredTool, RemoteTool


def desired(**attrs):
    base = {"description": "Look a candidate up.", "parameters": {"type": "object", "properties": {"email": {
        "type": "string"}}}, "delivery": {"api": {"url": "https://hr.example/lookup", "method": "POST",
                                                  "auth": {"type": "bearer", "token": "tok-abcdef"}}}}
    base.update(attrs)
    return DesiredTool(name="lookup_candidate", attributes=base)


def remote(**over):
    doc = {"tool_id": "t1", "name": "lookup_candidate", "owner_id": 7, "is_system_tool": False,
           "description": "Look a candidate up.", "origin": "llm", "on_call": "generate_filler",
           "parameters": {"type": "object", "properties": {"email": {"type": "string"}}},
           "delivery": {"app_message": False, "api": {"url": "https://hr.example/lookup", "method": "POST",
                                                      "timeout": 10, "auth": {"type": "bearer", "token": MASK}}}}
    doc.update(over)
    return RemoteTool.from_api(doc)


def test_table_and_identity():
    assert (API.path, API.id_field, API.name_field, API.page_base, API.patch_style) == (
        "/v2/tools", "tool_id", "name", 1, "json")
    assert API.attached_path("p 1") == "/v2/pals/p%201/tools"
    assert API.attached_path("p1", "t/2") == "/v2/pals/p1/tools/t%2F2"
    assert TOOLS.identity(desired()) == ("name", "lookup_candidate")
    assert TOOLS.identity(DesiredTool(name="x", attributes={}, tool_id="t9")) == ("id", "t9")
    assert TOOLS.masked_secrets and TOOLS.replace_deletes_first


def test_no_change_when_server_defaults_fill_undeclared_members():
    d, r = desired(), remote()
    assert TOOLS.in_place_changes(d, r) == {}
    assert TOOLS.uncomparable(d, r) == ("delivery.api.auth.token",)
    assert TOOLS.replace_reason(d, r, ()) is None
    assert TOOLS.replace_reason(d, r, ("lookup_candidate",)) == "replacement requested with --replace"


def test_a_changed_field_is_sent_whole_with_its_secret_and_shown_masked():
    d = desired(delivery={"api": {"url": "https://hr.example/v2", "method": "POST",
                                  "auth": {"type": "bearer", "token": "tok-abcdef"}}})
    changes = TOOLS.in_place_changes(d, remote())
    assert list(changes) == ["delivery"]
    body = TOOLS.patch_body(changes)
    assert body == {"delivery": d.attributes["delivery"]}
    old, new = TOOLS.shown(changes)["delivery"]
    assert new["api"]["auth"]["token"] == MASK and "tok-abcdef" not in repr(TOOLS.shown(changes))
    assert old["api"]["url"] == "https://hr.example/lookup"


def test_parameters_are_compared_exactly():
    r = remote(parameters={"type": "object", "properties": {"email": {"type": "string"}, "phone": {"type": "string"}}})
    assert list(TOOLS.in_place_changes(desired(), r)) == ["parameters"]  # a property removed from the file


def test_scalars_types_and_tags():
    assert list(TOOLS.in_place_changes(desired(description="new"), remote())) == ["description"]
    assert TOOLS.in_place_changes(desired(tags=["b", "a"]), remote(tags=["a", "b"])) == {}
    assert list(TOOLS.in_place_changes(desired(tags=["a"]), remote(tags=["a", "b"]))) == ["tags"]
    assert list(TOOLS.in_place_changes(desired(delivery={"app_message": True}), remote())) == ["delivery"]
    r = remote(delivery={"app_message": 1})
    assert list(TOOLS.in_place_changes(desired(delivery={"app_message": True}), r)) == ["delivery"]


def test_a_pinned_tool_is_renamed_in_place():
    d = DesiredTool(name="new_name", attributes={}, tool_id="t1")
    assert TOOLS.in_place_changes(d, remote()) == {"name": ("lookup_candidate", "new_name")}


def test_a_secret_echoed_in_clear_is_compared():
    same = remote(delivery={"api": {"url": "https://hr.example/lookup", "method": "POST",
                                    "auth": {"type": "bearer", "token": "tok-abcdef"}}})
    assert TOOLS.in_place_changes(desired(), same) == {} and TOOLS.uncomparable(desired(), same) == ()
    other = remote(delivery={"api": {"url": "https://hr.example/lookup", "method": "POST",
                                     "auth": {"type": "bearer", "token": "tok-zzzzzz"}}})
    assert list(TOOLS.in_place_changes(desired(), other)) == ["delivery"]


def test_resend_sends_the_fields_holding_what_could_not_be_compared():
    d = desired()
    assert list(TOOLS.resend_changes(d, remote())) == ["delivery"]
    assert TOOLS.patch_body(TOOLS.resend_changes(d, remote()))["delivery"]["api"]["auth"]["token"] == "tok-abcdef"
    assert TOOLS.resend_changes(desired(delivery={"app_message": True}), remote()) == {}


def test_unset_var_secret_is_not_compared():
    d = desired(delivery={"api": {"url": "https://hr.example/lookup", "method": "POST",
                                  "auth": {"type": "bearer", "token": "${HR_TOKEN}"}}})
    assert TOOLS.in_place_changes(d, remote()) == {}
    assert TOOLS.uncomparable(d, remote()) == ("delivery.api.auth.token",)


def test_shown_masks_secret_headers():
    assert shown({"api": {"headers": {"Authorization": "Bearer x", "X-Service": "y"}}}, ("delivery",)) == {
        "api": {"headers": {"Authorization": MASK, "X-Service": "y"}}}


def test_attachment_changes():
    assert attachment_changes(["t1", "t2"], ["t2", "t3", "t3"]) == (["t3"], ["t1"])
    assert attachment_changes([], []) == ([], [])
    with pytest.raises(ValueError, match="at most 50"):
        attachment_changes([], [f"t{i}" for i in range(MAX_ATTACHED + 1)])


class FakeClient:
    def __init__(self, fail=None):
        self.calls, self.fail = [], fail

    def _call(self, method, path, *, json=None):
        self.calls.append((method, path, json))
        if self.fail:
            raise self.fail
        return {"data": [{"tool_id": "t1", "name": "a"}, {"bad": 1}, "x"]} if method == "GET" else {}

    def list_objects(self, listing):
        return [RemoteTool.from_api({"tool_id": "t1", "name": "a"}),
                RemoteTool.from_api({"tool_id": "end_call", "name": "end_call", "is_system_tool": True})]


def test_attach_detach_attached_calls():
    c = FakeClient()
    attach(c, "p1", ["t1", "t2", "t1"])
    attach(c, "p1", [])
    assert c.calls == [("POST", "/v2/pals/p1/tools", {"tool_ids": ["t1", "t2"]})]
    assert detach(c, "p1", "t1") is True and c.calls[-1] == ("DELETE", "/v2/pals/p1/tools/t1", None)
    assert [t.tool_id for t in attached(c, "p1")] == ["t1"]
    with pytest.raises(ValueError):
        attach(c, "p1", [f"t{i}" for i in range(51)])


def test_detach_of_what_is_not_attached_is_done():
    refused = BadRequestError("HTTP 400: Bad Request. Tool not attached to this PAL")
    assert detach(FakeClient(refused), "p", "t") is False
    assert detach(FakeClient(NotFoundError("gone")), "p", "t") is False
    with pytest.raises(BadRequestError):
        detach(FakeClient(BadRequestError("HTTP 400: something else")), "p", "t")


def test_listing_skips_system_tools():
    assert [t.tool_id for t in TOOLS.list(FakeClient())] == ["t1"]
    assert TOOLS.list(FakeClient(), ids=["zz"]) == []


def test_scope_reads_a_dash_as_underscore():
    assert TOOLS.in_scope("acme_lookup", "acme-") and TOOLS.in_scope("acme_lookup", "acme_")
    assert not TOOLS.in_scope("other", "acme-") and not TOOLS.in_scope(None, "acme-")
    assert TOOLS.in_scope("anything", None)
