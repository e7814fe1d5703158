"""workflows/objects_io.py: status rows, outputs and export entries of the generic kinds (documents)."""

from __future__ import annotations

from reconciler.engine.models import Config, Settings
from reconciler.kinds.documents.kind import DOCUMENTS
from reconciler.kinds.documents.models import DesiredDocument, RemoteDocument
from reconciler.workflows import objects_io


def config(*docs):
    return Config(path="f.yaml", replicas=(), settings=Settings(name_prefix="acme-"), objects={"documents": docs})


def doc(did, name, status="ready", **kw):
    return RemoteDocument(document_id=did, name=name, status=status, **kw)


LISTED = {"documents": [doc("d1", "acme-a"), doc("d2", "acme-b", "processing", progress="50"),
                        doc("d3", "acme-stray"), doc("d4", "other")]}


def test_status_rows_declared_absent_and_unmanaged_in_scope():
    rows = objects_io.status_rows(config(DesiredDocument("acme-a", "u"), DesiredDocument("acme-b", "u"),
                                         DesiredDocument("acme-c", "u")), [DOCUMENTS], LISTED)["documents"]
    assert [(r["name"], r["id"], r["phase"], r["managed"]) for r in rows] == [
        ("acme-a", "d1", "ready", True), ("acme-b", "d2", "pending", True), ("acme-c", None, "absent", True),
        ("acme-stray", "d3", "ready", False)]
    text = objects_io.status_text({"documents": rows}, [DOCUMENTS])
    assert "\nDOCUMENTS\n  acme-a  d1  ready\n  acme-b  d2  processing  50%\n  acme-c  absent" in text
    assert "acme-stray  d3 (unmanaged)" in text and objects_io.status_text({}, [DOCUMENTS]) == ""


def test_ready_ids_and_notes():
    ready, notes = objects_io.ready_ids(config(DesiredDocument("acme-a", "u"), DesiredDocument("acme-b", "u"),
                                               DesiredDocument("acme-c", "u")), [DOCUMENTS], LISTED)
    assert ready == {"acme-a": ("document", "d1")}
    assert notes == ["document acme-b: document d2 is still processing (processing, 50%)",
                     "document acme-c: not created yet"]


def test_exported_entries_in_scope_once_per_name():
    warnings: list[str] = []
    listed = {"documents": [doc("d1", "acme-a", document_url="https://x/a.pdf"), doc("d5", "acme-a"),
                            doc("d4", "other")]}
    sections, names = objects_io.exported([DOCUMENTS], listed, "acme-", warnings)
    assert sections == {"documents": [{"name": "acme-a", "document_id": "d1", "document_url": "https://x/a.pdf"}]}
    assert names == {"documents": {"d1": "acme-a"}} and "several documents are named 'acme-a'" in warnings[0]
