"""engine/readiness.py: the waiter's rows for the generic asynchronous kinds (documents)."""

from __future__ import annotations

import pytest

from reconciler.engine import readiness
from reconciler.engine.status import Phase
from reconciler.engine.waiter import GONE
from reconciler.errors import ApiError
from reconciler.kinds.documents.kind import DOCUMENTS
from reconciler.kinds.documents.models import DesiredDocument, RemoteDocument


@pytest.fixture(autouse=True)
def wire(monkeypatch):
    from reconciler.kinds.documents import kind

    monkeypatch.setattr(kind, "_wire", lambda: "documents")


def doc(did, name, status="ready", **kw):
    return RemoteDocument(document_id=did, name=name, status=status, **kw)


def test_targets_are_what_was_created_what_still_processes_and_successors_in_flight():
    declared = {"documents": [DesiredDocument("a", "u"), DesiredDocument("b", "u"), DesiredDocument("c", "u"),
                              DesiredDocument("d", "u")]}
    listed = {"documents": [doc("d1", "a", "processing"), doc("d2", "b"), doc("d3", "c"),
                            doc("d4", "c~next~d3", "processing")]}
    got = readiness.targets([DOCUMENTS], {("documents", "d"): "d9"}, declared, listed)
    assert sorted((name, oid, old) for _k, name, oid, old in got) == [
        ("a", "d1", None), ("c", "d4", "d3"), ("d", "d9", None)]
    assert readiness.targets([DOCUMENTS], {}, declared, listed, wanted=lambda n: n == "a")[0][1] == "a"


class Account:
    def __init__(self, pages, fail=False):
        self.pages, self.fail, self.calls = list(pages), fail, []

    def list_objects(self, listing):
        if self.fail:
            raise ApiError("503")
        return self.pages.pop(0) if len(self.pages) > 1 else self.pages[0]

    def get_object(self, listing, oid):
        from reconciler.errors import NotFoundError

        raise NotFoundError("gone")


def test_rows_follow_their_objects_and_say_why_one_failed():
    client = Account([[doc("d1", "a", "processing", progress="40")],
                      [doc("d1", "a", "error", error_message="file_download_failed")]])
    notes: list[str] = []
    rows = readiness.ObjectRows(client, [(DOCUMENTS, "a", "d1", None)], note=notes.append)
    assert rows.what() == "1 document(s)" and rows.rows[0].polled_by_driver
    rows.tick()
    assert rows.rows[0].phase is Phase.PENDING and rows.rows[0].progress == 40.0
    rows.tick()
    assert rows.rows[0].phase is Phase.FAILED and rows.rows[0].error_message == "file_download_failed"
    assert notes == ["document a (d1): processing", "document a (d1): error: file_download_failed"]


def test_a_vanished_object_is_gone_and_a_failed_poll_only_warns():
    rows = readiness.ObjectRows(Account([[]]), [(DOCUMENTS, "a", "d1", None)], note=lambda line: None)
    rows.tick()
    assert rows.rows[0].phase == GONE
    warned: list[str] = []
    rows = readiness.ObjectRows(Account([[]], fail=True), [(DOCUMENTS, "a", "d1", None)], warn=warned.append)
    rows.tick()
    assert rows.rows[0].phase is Phase.PENDING and "will retry" in warned[0]


def test_both_drivers_as_one():
    class Busy:
        rows, busy, ticks = ["r"], True, 0

        def tick(self):
            Busy.ticks += 1

    rows = readiness.ObjectRows(Account([[doc("d1", "a")]]), [(DOCUMENTS, "a", "d1", None)], note=lambda x: None)
    both = readiness.Both(Busy(), rows)
    both.tick()
    assert both.busy and both.rows[0] == "r" and Busy.ticks == 1 and rows.rows[0].phase is Phase.READY
