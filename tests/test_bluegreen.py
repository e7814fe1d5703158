"""engine/bluegreen.py: a blue/green replace of a generic kind, every phase read from the account alone."""

from __future__ import annotations

import pytest

from reconciler.engine import bluegreen
from reconciler.engine.kind import Reference
from reconciler.errors import ReconcilerError
from reconciler.kinds.documents.kind import DOCUMENTS
from reconciler.kinds.documents.models import DesiredDocument, RemoteDocument

URL = "https://x.example/a.pdf"


def doc(did, name, status="ready"):
    return RemoteDocument(document_id=did, name=name, status=status, document_url=URL)


def test_documents_are_blue_green():
    assert bluegreen.blue_green(DOCUMENTS)


@pytest.mark.parametrize(("old", "status", "phase"), [
    (doc("d1", "hb"), "processing", "process"), (doc("d1", "hb"), "ready", "swap"),
    (doc("d1", "hb"), "error", "failed"), (None, "ready", "rename")])
def test_every_phase_is_read_from_the_account(old, status, phase):
    listed = [doc("d2", "hb~next~d1", status)] + ([old] if old else [])
    found = bluegreen.successors(DOCUMENTS, listed)
    assert set(found) == {"hb"} and found["hb"][0] == "d1"
    c = bluegreen.in_flight(DOCUMENTS, DesiredDocument("hb", URL), old, found, ())
    assert c is not None and c.phase == phase and c.object_id == "d1" and c.successor_id == "d2"


def test_a_successor_of_another_object_is_not_this_replace():
    found = bluegreen.successors(DOCUMENTS, [doc("d2", "hb~next~d0")])
    assert bluegreen.in_flight(DOCUMENTS, DesiredDocument("hb", URL), doc("d1", "hb"), found, ()) is None
    assert bluegreen.in_flight(DOCUMENTS, DesiredDocument("other", URL), None, found, ()) is None


class Account:
    def __init__(self, docs):
        self.docs = {d.document_id: d for d in docs}
        self.calls = []

    def get_object(self, listing, oid):
        from reconciler.errors import NotFoundError

        if oid not in self.docs:
            raise NotFoundError("gone")
        return self.docs[oid]

    def patch_object(self, listing, oid, body):
        self.calls.append(("rename", oid, body["document_name"]))
        return True

    def delete_object(self, listing, oid):
        self.calls.append(("delete", oid))
        self.docs.pop(oid, None)
        return True


class Referrer:
    key, noun = "personas", "persona"
    references = (Reference("documents", "documents", "document_ids", many=True),)

    def __init__(self, log):
        self.log = log

    def repoint(self, client, ref, old, new):
        self.log.append(("repoint", old, new))
        return [f"re-pointed {old} -> {new}"]


@pytest.fixture(autouse=True)
def wire(monkeypatch):
    from reconciler.kinds.documents import kind

    monkeypatch.setattr(kind, "_wire", lambda: "documents")


def test_swap_repoints_then_deletes_the_old_then_renames():
    client = Account([doc("d1", "hb"), doc("d2", "hb~next~d1")])
    notes: list[str] = []
    bluegreen.swap(DOCUMENTS, [DOCUMENTS, Referrer(client.calls)], client, "hb", "d1", "d2", note=notes.append)
    assert client.calls == [("repoint", "d1", "d2"), ("delete", "d1"), ("rename", "d2", "hb")]
    assert notes[0] == "re-pointed d1 -> d2"


def test_an_old_object_renamed_since_is_never_deleted():
    client = Account([doc("d1", "someone-elses"), doc("d2", "hb~next~d1")])
    with pytest.raises(ReconcilerError, match="now named 'someone-elses'"):
        bluegreen.swap(DOCUMENTS, [DOCUMENTS], client, "hb", "d1", "d2", note=lambda line: None)
    assert client.calls == []


def test_the_rename_phase_and_a_failed_successor():
    client = Account([doc("d2", "hb~next~d1")])
    bluegreen.swap(DOCUMENTS, [DOCUMENTS], client, "hb", None, "d2", note=lambda line: None)
    assert client.calls == [("rename", "d2", "hb")]
    bluegreen.drop_failed(DOCUMENTS, client, "d2")
    bluegreen.drop_failed(DOCUMENTS, client, "d2")  # already gone: as good
    assert client.calls[1:] == [("delete", "d2"), ("delete", "d2")]
