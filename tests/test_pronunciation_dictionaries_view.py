"""kinds/pronunciation_dictionaries/view.py: rules shown as a count and a summary, never whole."""

from __future__ import annotations

from types import SimpleNamespace

from reconciler.kinds.pronunciation_dictionaries.models import RemoteDictionary
from reconciler.kinds.pronunciation_dictionaries.view import plan_rows, status_row

R = {"text": "Tavus", "pronunciation": "TAH-vus", "type": "alias"}


def test_rows():
    create = SimpleNamespace(diff=(), after={"name": "d", "rules": [R] * 3}, before=None)
    assert plan_rows(create) == [("name", None, "d"), ("rules", None, "3 rule(s)")]
    update = SimpleNamespace(diff=(("rules", [R], [R, {**R, "text": "Acme"}]), ("name", "a", "b")))
    assert plan_rows(update) == [("rules", "1 rule(s)", "2 rule(s): +1 -0 ~0 (Acme)"), ("name", "a", "b")]
    delete = SimpleNamespace(diff=(), after=None, before={"name": "d", "rules": "1 rule(s)"})
    assert plan_rows(delete) == [("name", "d", None), ("rules", "1 rule(s)", None)]
    assert plan_rows(SimpleNamespace(diff=(), after=None, before=None)) == []


def test_status_row():
    r = RemoteDictionary.from_api({"pronunciation_dictionary_id": "pd_1", "name": "d", "rules_count": 4})
    assert status_row(r) == {"pronunciation_dictionary_id": "pd_1", "name": "d", "rules": 4}
