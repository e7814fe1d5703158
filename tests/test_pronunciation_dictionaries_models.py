"""kinds/pronunciation_dictionaries/models.py: rule normalisation and tolerant parsing."""

from __future__ import annotations

import pytest

from reconciler.kinds.pronunciation_dictionaries.models import (
    DesiredDictionary,
    RemoteDictionary,
    normal_rule,
    rule_key,
)


def test_rules_compare_with_server_defaults_and_without_order():
    declared = [{"text": "Tavus", "pronunciation": "TAH-vus", "type": "alias"},
                {"text": "bayou", "pronunciation": "ˈbɑju", "type": "ipa"}]
    answered = [{"text": "bayou", "pronunciation": "ˈbɑju", "type": "ipa", "case_sensitive": False,
                 "word_boundaries": True, "alphabet": None},
                {"text": "Tavus", "pronunciation": "TAH-vus", "type": "alias", "case_sensitive": False,
                 "word_boundaries": True}]
    assert rule_key(declared) == rule_key(answered)
    assert rule_key([{**declared[0], "case_sensitive": True}]) != rule_key(answered[1:])
    assert normal_rule({"text": "a", "alphabet": None}) == {"text": "a", "case_sensitive": False,
                                                            "word_boundaries": True}


def test_rule_key_on_keys_ignores_members_the_file_does_not_know():
    keys = frozenset({"text", "pronunciation", "type", "case_sensitive", "word_boundaries"})
    assert rule_key([{"text": "a", "pronunciation": "b", "type": "alias"}], keys) == rule_key(
        [{"text": "a", "pronunciation": "b", "type": "alias", "provider_id": "x"}], keys)


def test_from_api_is_tolerant():
    r = RemoteDictionary.from_api({"pronunciation_dictionary_id": "pd_1", "name": "Brand", "rules_count": 2,
                                   "rules": [{"text": "a"}, "junk"]})
    assert (r.dictionary_id, r.name, r.rules_count, r.rules) == ("pd_1", "Brand", 2, ({"text": "a"},))
    assert RemoteDictionary.from_api({"dictionary_id": "pd_2"}).rules is None  # not returned: cannot compare
    assert RemoteDictionary.from_api({"uuid": "pd_3", "rules_count": True}).rules_count is None
    with pytest.raises(KeyError):
        RemoteDictionary.from_api({"name": "x"})
    with pytest.raises(TypeError):
        RemoteDictionary.from_api({"pronunciation_dictionary_id": 5})


def test_desired_payload():
    d = DesiredDictionary(name="acme-terms", rules=({"text": "Tavus", "pronunciation": "TAH-vus", "type": "alias"},),
                          extra=(("description", "x"),))
    assert d.create_payload() == {"name": "acme-terms", "rules": [dict(d.rules[0])], "description": "x"}
    assert d.create_payload("n2")["name"] == "n2"
    assert {"text", "alphabet"} <= d.declared_keys()
