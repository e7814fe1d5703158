"""kinds/tools/view.py: plan rows and status rows never show a secret."""

from __future__ import annotations

from types import SimpleNamespace

from reconciler.kinds.tools.models import MASK, RemoteTool
from reconciler.kinds.tools.view import plan_rows, status_row

AUTH = {"api": {"url": "https://x.example", "auth": {"type": "bearer", "token": "tok-secret-1"}}}


def test_create_update_delete_rows_mask_secrets():
    create = SimpleNamespace(diff=(), after={"name": "t", "delivery": AUTH}, before=None)
    assert plan_rows(create) == [("name", None, "t"), ("delivery", None, {"api": {"url": "https://x.example", "auth": {
        "type": "bearer", "token": MASK}}})]
    update = SimpleNamespace(diff=(("delivery", {"api": {"auth": {"token": MASK}}}, AUTH), ("description", "a", "b")))
    rows = plan_rows(update)
    assert "tok-secret-1" not in repr(rows) and rows[1] == ("description", "a", "b")
    delete = SimpleNamespace(diff=(), after=None, before={"name": "t"})
    assert plan_rows(delete) == [("name", "t", None)]


def test_status_row():
    r = RemoteTool.from_api({"tool_id": "t1", "name": "a", "origin": "llm", "delivery": AUTH})
    assert status_row(r) == {"tool_id": "t1", "name": "a", "origin": "llm", "delivery": "api"}
    assert status_row(RemoteTool.from_api({"tool_id": "t2"}))["delivery"] == "app_message"
