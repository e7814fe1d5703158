"""reconciler.workflows.objects_io: status rows, output ids and export sections of the generic kinds, through
kind hooks only (here: tools and pronunciation dictionaries, on fakes)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import yaml

from reconciler.kinds.pronunciation_dictionaries.models import DesiredDictionary, RemoteDictionary
from reconciler.kinds.tools.models import DesiredTool, RemoteTool
from reconciler.workflows import objects_io

TOOL = RemoteTool.from_api({"tool_id": "t1", "name": "acme_a", "delivery": {"api": {"url": "https://x.example",
                                                                                    "auth": {"token": "********"}}}})
PD = RemoteDictionary.from_api({"pronunciation_dictionary_id": "pd_1", "name": "acme-d", "rules": [
    {"text": "a", "pronunciation": "b", "type": "alias", "alphabet": None}]})
CONFIG = SimpleNamespace(objects={"tools": (DesiredTool(name="acme_a", attributes={}),
                                            DesiredTool(name="acme_gone", attributes={})),
                                  "pronunciation_dictionaries": (DesiredDictionary(name="acme-d"),)})
OBJECTS = {"tools": [TOOL], "pronunciation_dictionaries": [PD]}


def test_status_rows_and_lines():
    rows = objects_io.status_rows(CONFIG, OBJECTS)
    assert [(r["kind"], r["name"], r["id"]) for r in rows] == [
        ("pronunciation_dictionaries", "acme-d", "pd_1"), ("tools", "acme_a", "t1"), ("tools", "acme_gone", None)]
    assert rows[1]["delivery"] == "api"  # the kind's view hook
    assert objects_io.status_lines(rows) == ["\nPRONUNCIATION DICTIONARIES", "  acme-d  pd_1", "\nTOOLS",
                                             "  acme_a  t1", "  acme_gone  absent"]
    assert json.loads(objects_io.with_objects('{"replicas": []}', rows))["objects"][0]["id"] == "pd_1"
    assert objects_io.with_objects('{"replicas": []}', []) == '{"replicas": []}'


def test_output_ids():
    ids, notes = objects_io.output_ids(CONFIG, OBJECTS)
    assert ids == {"TAVUS_PRONUNCIATION_DICTIONARY_ACME_D": "pd_1", "TAVUS_TOOL_ACME_A": "t1"}
    assert notes == ["tool acme_gone: not found on the account (run apply first)"]


class Client:
    def list_objects(self, listing):
        return {"/v2/tools": [TOOL, RemoteTool.from_api({"tool_id": "t2", "name": "other"})],
                "/v2/pronunciation-dictionaries": [PD]}.get(listing.path, [])


def test_export_sections_in_scope_with_secrets_as_vars():
    sections, warnings = objects_io.export_sections(Client(), "acme-")
    assert [e["name"] for e in sections["tools"]] == ["acme_a"]  # "other" is outside acme- (acme_ for tools)
    assert sections["tools"][0]["delivery"]["api"]["auth"]["token"] == "${ACME_A_TOKEN}"
    assert sections["pronunciation_dictionaries"] == [{"name": "acme-d", "pronunciation_dictionary_id": "pd_1",
                                                      "rules": [{"text": "a", "pronunciation": "b", "type": "alias"}]}]
    assert warnings and "exported as ${ACME_A_TOKEN}" in warnings[0]
    assert yaml.safe_load(objects_io.sections_yaml(sections))["tools"][0]["tool_id"] == "t1"
    assert objects_io.sections_yaml({}) == ""
