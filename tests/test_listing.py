"""reconciler.api.listing: a collection described by data (ids in an alias, default parse/key/name, paths,
gone words), and the table-backed kind that follows its vocabulary's names."""

from __future__ import annotations

import pytest

from reconciler.api.listing import Listing, TableKind, planned_pages

G = Listing(path="/v2/guardrails", noun="guardrail", id_field="guardrail_id", name_field="guardrail_name",
            id_aliases=("uuid",))


def test_an_id_in_an_alias_is_filled_into_the_id_field():
    assert G.parse({"uuid": "g1", "guardrail_name": "n"}) == {"uuid": "g1", "guardrail_id": "g1",
                                                               "guardrail_name": "n"}
    assert G.parse({"guardrail_id": "g2", "uuid": "other"})["guardrail_id"] == "g2"  # the id field wins
    assert G.answer_id({"uuid": "g3"}) == "g3" and G.answer_id({}) is None


@pytest.mark.parametrize("item", [{}, {"guardrail_id": 5}, {"uuid": ""}])
def test_an_item_without_a_usable_id_is_refused(item):
    with pytest.raises(KeyError):
        G.parse(item)


def test_defaults_key_and_name_for_mappings_and_objects():
    item = G.parse({"uuid": "g1", "guardrail_name": "n"})
    assert (G.key(item), G.name_of(item)) == ("g1", "n")

    class Obj:
        guardrail_id, name = "g9", "named"

    assert (G.key(Obj()), G.name_of(Obj())) == ("g9", "named")
    custom = Listing(path="/v2/x", noun="x", id_field="x_id", name_field="x_name", parse_item=lambda d: ("p", d),
                     key_of=lambda i: "k", name_getter=lambda i: "nm")
    assert (custom.parse({"x_id": "1"}), custom.key(None), custom.name_of(None)) == (("p", {"x_id": "1"}), "k", "nm")


def test_paths_are_quoted_and_gone_words_default_to_the_id_field():
    assert G.item_path("a/b c") == "/v2/guardrails/a%2Fb%20c"
    assert G.gone("POST /x: HTTP 400: Invalid guardrail_id") and not G.gone("HTTP 400: name required")
    assert Listing("/v2/d", "d", "d_id", "n", gone_words=("not found",)).gone("Document NOT FOUND".lower())


def test_planned_pages_rounds_up():
    assert [planned_pages(t, 100) for t in (0, 1, 100, 101, 250)] == [0, 1, 1, 2, 3]


def test_a_table_kind_reads_its_vocabulary_at_every_use():
    from reconciler.kinds import Vocabulary

    legacy = Vocabulary(path="/v2/replicas", id_field="replica_id", name_field="replica_name",
                        type_field="replica_type")
    newer = Vocabulary(path="/v2/faces", id_field="face_id", name_field="face_name", type_field="face_type")

    class Kind:
        noun, api = "replica", legacy

    Kind.legacy = legacy
    t = TableKind(Kind, dict, lambda r: r["replica_id"])
    assert (t.path, t.id_field, t.outgoing({"replica_name": "a"})) == ("/v2/replicas", "replica_id",
                                                                       {"replica_name": "a"})
    Kind.api = newer
    assert (t.path, t.name_field, t.item_path("r1")) == ("/v2/faces", "face_name", "/v2/faces/r1")
    assert t.outgoing({"replica_name": "a"}) == {"face_name": "a"}
    assert t.parse({"face_id": "r1"}) == {"replica_id": "r1"}
    assert t.outgoing_patch([{"op": "replace", "path": "/replica_name", "value": "b"}]) == \
        [{"op": "replace", "path": "/face_name", "value": "b"}]
