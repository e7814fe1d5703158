"""Guardrail models (reconciler/kinds/guardrails/models.py): tolerant parsing, legacy sets told apart."""

from __future__ import annotations

import pytest

from reconciler.kinds.guardrails.models import DesiredGuardrail, RemoteGuardrail, is_legacy_set, item_id

DOCUMENTED = {"uuid": "g1234567890ab", "guardrail_name": "healthcare_compliance_guardrail",
              "guardrail_prompt": "Never share sensitive medical information.", "modality": "verbal",
              "callback_url": "https://your-server.com/guardrails-webhook", "tags": ["compliance", "healthcare"],
              "app_message": True, "created_at": "2024-01-15T10:30:00Z", "updated_at": "2024-01-15T10:30:00Z"}


def test_the_documented_item_parses_with_its_id_in_uuid():
    g = RemoteGuardrail.from_api(DOCUMENTED)
    assert g.guardrail_id == "g1234567890ab" and g.name == "healthcare_compliance_guardrail"
    assert g.tags == ("compliance", "healthcare") and g.app_message is True and g.manageable
    assert "uuid" not in g.document and "created_at" not in g.document  # server fields are not compared
    assert g.document["guardrail_prompt"] == DOCUMENTED["guardrail_prompt"]


def test_guardrail_id_is_tolerated_when_uuid_is_absent():
    g = RemoteGuardrail.from_api({"guardrail_id": "g2", "guardrail_name": "x"})
    assert g.guardrail_id == "g2" and item_id({"uuid": "", "guardrail_id": "g2"}) == "g2"


def test_an_item_without_id_is_refused_and_odd_fields_are_tolerated():
    with pytest.raises(KeyError):
        RemoteGuardrail.from_api({"guardrail_name": "x"})
    with pytest.raises(TypeError):
        RemoteGuardrail.from_api(["not", "a", "mapping"])  # type: ignore[arg-type]
    g = RemoteGuardrail.from_api({"uuid": "g3", "guardrail_name": 7, "tags": "one", "app_message": "yes"})
    assert g.name is None and g.tags is None and g.app_message is None


@pytest.mark.parametrize("item", [
    {"guardrails_id": "g9", "name": "Healthcare Compliance Guardrails", "data": [{"guardrail_name": "a"}]},
    {"guardrails_id": "g9", "guardrails_name": "Set", "status": "active"},
    {"uuid": "g9", "name": "Set", "data": []},
])
def test_a_legacy_set_is_never_a_manageable_guardrail(item):
    assert is_legacy_set(item)
    g = RemoteGuardrail.from_api(item)
    assert g.legacy_set and not g.manageable and g.guardrail_id == "g9"


def test_an_item_mirrored_from_a_legacy_set_is_not_manageable():
    g = RemoteGuardrail.from_api({**DOCUMENTED, "guardrails_id": "gset"})
    assert not g.legacy_set and g.in_set and not g.manageable


def test_the_create_payload_is_the_name_and_the_declared_attributes():
    d = DesiredGuardrail(name="n", attributes={"guardrail_prompt": "p", "tags": ("a",)})
    assert d.create_payload() == {"guardrail_name": "n", "guardrail_prompt": "p", "tags": ["a"]}
