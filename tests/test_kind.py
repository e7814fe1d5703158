"""reconciler.engine.kind: references as data (single, list, nested, the *_id form) and discovered abilities."""

from reconciler.engine.kind import (
    Listing,
    Reference,
    WithBlueGreen,
    WithInPlaceUpdate,
    WithListing,
    WithReadiness,
    get_path,
    has,
    listing,
    set_path,
    without_path,
)
from reconciler.kinds.personas.kind import PERSONAS
from reconciler.kinds.replicas.kind import REPLICAS


def test_a_single_name_binds_to_one_id_and_the_name_field_goes():
    ref = Reference("default_replica", "replicas", "default_replica_id")
    doc = {"default_replica": "alice", "x": 1}
    assert ref.names(doc) == ["alice"] and ref.ids(doc) == []
    assert ref.bind(doc, ["r1"]) == {"x": 1, "default_replica_id": "r1"}
    assert doc == {"default_replica": "alice", "x": 1}  # not modified


def test_a_list_of_names_binds_to_a_list_of_ids():
    ref = Reference("documents", "documents", "document_ids", many=True)
    assert ref.names({"documents": ["a", "b"]}) == ["a", "b"]
    assert ref.bind({"documents": ["a", "b"]}, ["d1", "d2"]) == {"document_ids": ["d1", "d2"]}
    assert ref.ids({"document_ids": ["d9"]}) == ["d9"]  # the *_id form: given directly


def test_a_nested_path():
    ref = Reference("layers.tts.pronunciation_dictionary", "dictionaries", "layers.tts.pronunciation_dictionary_id")
    doc = {"layers": {"tts": {"pronunciation_dictionary": "p", "voice": "v"}, "llm": {}}}
    assert ref.names(doc) == ["p"]
    assert ref.bind(doc, ["x1"]) == {"layers": {"tts": {"voice": "v", "pronunciation_dictionary_id": "x1"},
                                                "llm": {}}}
    assert ref.names({"layers": "not a mapping"}) == []


def test_paths():
    assert get_path({"a": {"b": 2}}, "a.b") == 2 and get_path({"a": 1}, "a.b") is None
    assert set_path({"a": 1}, "a.b", 2) == {"a": {"b": 2}}
    assert without_path({"a": {"b": 1, "c": 2}}, "a.b") == {"a": {"c": 2}}
    assert without_path({"a": 1}, "z.y") == {"a": 1} and without_path({"a": 1}, "a.y") == {"a": 1}


def test_the_real_kinds_declare_their_references_and_abilities():
    assert PERSONAS.references[0] == Reference("default_replica", "replicas", "default_replica_id")
    assert Reference("documents", "documents", "document_ids", many=True) in PERSONAS.references  # issue 27
    assert REPLICAS.references == ()
    assert has(REPLICAS, WithReadiness) and has(REPLICAS, WithBlueGreen)
    assert not has(PERSONAS, WithReadiness)


def test_listing_defaults_and_overrides():
    class Guarded:
        listing = Listing(first_page=0, filters={"legacy": "false"})

    assert has(Guarded(), WithListing) and listing(Guarded()).filters == {"legacy": "false"}
    assert listing(REPLICAS) == Listing(first_page=1)
    assert not has(object(), WithInPlaceUpdate)


def test_has_is_kept_per_class_and_an_instance_attribute_still_decides():
    class Plain:
        pass

    class Ready:
        def phase(self, remote): ...
        def not_ready(self, remote): ...

    assert has(Ready(), WithReadiness) and has(Ready(), WithReadiness)  # the second from the per-class answer
    assert not has(Plain(), WithReadiness) and not has(Plain(), WithReadiness)
    odd = Plain()
    odd.listing = Listing(first_page=0)  # an instance's own attribute: not the class's kept answer
    assert has(odd, WithListing) and not has(Plain(), WithListing)


def test_has_asks_the_runtime_protocol_once_per_class(monkeypatch):
    import reconciler.engine.kind as kind_module

    class Renames:
        def rename(self, client, object_id, name): ...

    calls = []
    real = isinstance
    monkeypatch.setattr(kind_module, "isinstance", lambda o, t: calls.append(t) or real(o, t), raising=False)
    assert all(has(Renames(), WithBlueGreen) for _ in range(50))
    assert calls == [WithBlueGreen]


def test_in_scope_reads_the_prefix_as_each_kind_spells_it():
    from reconciler.engine.kind import in_scope

    class Plain:
        pass

    class Spelled:
        @staticmethod
        def scope_prefix(prefix):
            return prefix.replace("-", "_")

    class Own:
        @staticmethod
        def in_scope(name, prefix):
            return name == "mine"

    assert in_scope(Plain(), "acme-a", "acme-") and not in_scope(Plain(), "beta-a", "acme-")
    assert in_scope(Plain(), "anything", None) and not in_scope(Plain(), None, "acme-")
    assert in_scope(Spelled(), "acme_a", "acme-") and not in_scope(Spelled(), "acme-a", "acme-")
    assert in_scope(Own(), "mine", None) and not in_scope(Own(), "acme-a", "acme-")
