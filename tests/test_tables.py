"""reconciler.api.tables: the replicas' and personas' collections follow their kinds' one table."""

from __future__ import annotations

from reconciler.api.tables import _PERSONAS, _REPLICAS
from reconciler.kinds.personas.kind import PERSONAS
from reconciler.kinds.replicas.kind import REPLICAS


def test_the_collections_are_the_kinds_tables():
    assert (_REPLICAS.path, _REPLICAS.id_field, _REPLICAS.noun) == (REPLICAS.api.path, REPLICAS.api.id_field, "replica")
    assert (_PERSONAS.path, _PERSONAS.id_field, _PERSONAS.noun) == (PERSONAS.api.path, PERSONAS.api.id_field, "persona")


def test_items_parse_to_the_remote_models_keyed_by_id():
    r = _REPLICAS.parse({"replica_id": "r1", "replica_name": "a", "status": "completed"})
    p = _PERSONAS.parse({"persona_id": "p1", "persona_name": "b"})
    assert (_REPLICAS.key(r), _REPLICAS.name_of(r)) == ("r1", "a")
    assert (_PERSONAS.key(p), _PERSONAS.name_of(p)) == ("p1", "b")
    assert _REPLICAS.first_page == _PERSONAS.first_page == 1 and not _REPLICAS.params
