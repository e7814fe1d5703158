"""How plans show a replica's change (reconciler/kinds/replicas/view.py)."""

from __future__ import annotations

from reconciler.engine.models import Action, Change
from reconciler.kinds.replicas.view import change_lines, document_fields

SIGNED = "https://b.s3.amazonaws.com/a.mp4?X-Amz-Signature=SECRETSIG"


def test_a_replace_marks_the_model_and_says_where_it_stands():
    c = Change(Action.REPLACE, "a", "model", object_id="r1", phase="training", successor_id="r2",
               before={"replica_name": "a", "model_name": "phoenix-3"}, after={"replica_name": "a",
                                                                                "model_name": "phoenix-4"})
    lines = change_lines(c, False)
    assert lines[0] == "-/+ replace a (r1)" and lines[2].startswith("      in flight: training: successor")
    assert lines[3] == '      model_name: "phoenix-3" -> "phoenix-4"   # forces replacement'


def test_a_create_shows_its_attributes_redacted_without_its_own_name():
    lines = change_lines(Change(Action.CREATE, "a", "new", after={"replica_name": "a", "train_video_url": SIGNED,
                                                                    "callback_url": None}), False)
    assert len(lines) == 3 and "SECRETSIG" not in lines[2] and lines[2].startswith("      train_video_url: ")


def test_no_document_keys_beyond_the_common_ones():
    assert document_fields(Change(Action.DELETE, "a", "x", object_id="r1")) == {}
