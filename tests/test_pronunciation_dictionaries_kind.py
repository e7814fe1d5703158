"""kinds/pronunciation_dictionaries/kind.py: identity, the rules diff, JSON Patch, the API table and calls."""

from __future__ import annotations

import pytest

from reconciler.kinds.pronunciation_dictionaries.kind import API, DICTIONARIES, rules_summary
from reconciler.kinds.pronunciation_dictionaries.models import DesiredDictionary, RemoteDictionary

RULE = {"text": "Tavus", "pronunciation": "TAH-vus", "type": "alias"}


def remote(**over):
    doc = {"pronunciation_dictionary_id": "pd_1", "name": "acme-terms",
           "rules": [{**RULE, "case_sensitive": False, "word_boundaries": True}], "rules_count": 1}
    doc.update(over)
    return RemoteDictionary.from_api(doc)


def test_table_and_identity():
    assert (API.path, API.id_field, API.page_base, API.patch_style) == (
        "/v2/pronunciation-dictionaries", "pronunciation_dictionary_id", 0, "json-patch")
    assert API.persona_field == ("layers", "tts", "pronunciation_dictionary_id")
    assert DICTIONARIES.identity(DesiredDictionary(name="a")) == ("name", "a")
    assert DICTIONARIES.identity(DesiredDictionary(name="a", dictionary_id="pd_9")) == ("id", "pd_9")


def test_no_change_then_rules_change_in_place():
    same = DesiredDictionary(name="acme-terms", rules=(RULE,))
    assert DICTIONARIES.in_place_changes(same, remote()) == {}
    assert DICTIONARIES.replace_reason(same, remote(), ()) is None
    changed = DesiredDictionary(name="acme-terms", rules=({**RULE, "pronunciation": "TAY-vus"},))
    changes = DICTIONARIES.in_place_changes(changed, remote())
    assert changes == {"rules": ("1 rule(s)", "1 rule(s): +0 -0 ~1 (Tavus)")}  # shown: a count and a summary
    assert DICTIONARIES.patch_ops(changes) == [{"op": "replace", "path": "/rules", "value": [dict(changed.rules[0])]}]
    assert DICTIONARIES.patch_ops({"rules": (None, [RULE])}) == [{"op": "replace", "path": "/rules", "value": [RULE]}]


def test_pinned_rename_and_uncomparable_rules():
    d = DesiredDictionary(name="new", rules=(RULE,), dictionary_id="pd_1")
    r = remote(rules=None)
    assert DICTIONARIES.in_place_changes(d, r) == {"name": ("acme-terms", "new")}
    assert DICTIONARIES.uncomparable(d, r) == ("rules",)
    assert DICTIONARIES.uncomparable(d, remote()) == ()
    with pytest.raises(ValueError):
        DICTIONARIES.patch_ops({"rules_count": (1, 2)})


def test_shown_attributes_summarise_rules():
    d = DesiredDictionary(name="a", rules=(RULE, {**RULE, "text": "Acme"}))
    assert DICTIONARIES.desired_attributes(d) == {"name": "a", "rules": "2 rule(s)"}
    assert DICTIONARIES.remote_attributes(remote(rules=None, rules_count=7)) == {"name": "acme-terms",
                                                                                  "rules": "7 rule(s)"}
    old = [RULE, {**RULE, "text": "Gone"}]
    new = [{**RULE, "pronunciation": "x"}, {**RULE, "text": "New"}]
    assert rules_summary(old, new) == "+1 -1 ~1 (New, Gone, Tavus)"
    assert rules_summary([], [{**RULE, "text": str(i)} for i in range(8)]) == "+8 -0 ~0 (0, 1, 2, 3, 4, ... 3 more)"


class FakeClient:
    def __init__(self):
        self.calls = []

    def list_objects(self, listing):
        self.calls.append(("list", listing.path))
        return [remote(), remote(pronunciation_dictionary_id="pd_2")]

    def patch_object(self, listing, object_id, body):
        self.calls.append(("patch", object_id, body))
        return {}

    def create_object(self, listing, payload, known_ids=()):
        self.calls.append(("create", payload["name"], tuple(known_ids)))
        return "pd_new"

    def delete_object(self, listing, object_id):
        self.calls.append(("delete", object_id))


def test_calls_go_through_the_generic_client():
    c = FakeClient()
    assert [d.dictionary_id for d in DICTIONARIES.list(c, ids=["pd_2"])] == ["pd_2"]
    assert DICTIONARIES.create(c, DesiredDictionary(name="a"), known_ids=["pd_1"]) == "pd_new"
    assert DICTIONARIES.update(c, "pd_1", {}) is False
    DICTIONARIES.update(c, "pd_1", {"name": ("a", "b")})
    DICTIONARIES.delete(c, "pd_1")
    assert c.calls[1:] == [("create", "a", ("pd_1",)),
                           ("patch", "pd_1", [{"op": "replace", "path": "/name", "value": "b"}]),
                           ("delete", "pd_1")]
