"""The personas' changes carried out (kinds/personas/apply.py, through engine.executor.execute; issue 17): after
creating, a concurrent apply's older persona of the same name wins; only our own just-created duplicate is ever
deleted; an update held by an editor draft says how to go on."""

from __future__ import annotations

import pytest

from reconciler.engine.executor import execute
from reconciler.engine.models import Action, Config, Settings
from reconciler.engine.planner import compute_plan
from reconciler.kinds.personas.models import DesiredPersona, RemotePersona


def _remote(pid, name, created_at):
    return RemotePersona.from_api({"persona_id": pid, "persona_name": name, "persona_type": "user",
                                   "created_at": created_at})


class Client:
    """Creates 'mine' at ``mine_at``; a concurrent run's 'theirs' appears between the re-check and the listing
    after the create."""

    def __init__(self, mine_at, theirs_at, *, list_fails=False):
        self.mine_at, self.theirs_at, self.list_fails = mine_at, theirs_at, list_fails
        self.lists = 0
        self.deleted: list[str] = []
        self.created = False

    def list_personas(self):
        self.lists += 1
        if self.lists == 1:
            return []  # the re-check before creating: nothing yet
        if self.list_fails:
            from reconciler.errors import ReconcilerError

            raise ReconcilerError("the API is down")
        return [_remote("mine", "acme-p", self.mine_at), _remote("theirs", "acme-p", self.theirs_at)]

    def create_persona(self, payload, known_ids=()):
        self.created = True
        return "mine"

    def delete_persona(self, pid):
        self.deleted.append(pid)
        return True


def _plan():
    config = Config(path="f.yaml", replicas=(), personas=(DesiredPersona("acme-p", {"system_prompt": "x"}),),
                    settings=Settings())
    return compute_plan(config, [], personas=[])


@pytest.mark.parametrize(("mine_at", "theirs_at", "survivor"), [
    ("2026-01-01T00:00:02.000Z", "2026-01-01T00:00:01.000Z", "theirs"),  # theirs first: ours goes
    ("2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z", "mine"),    # ours first: the other run removes its own
    ("2026-01-01T00:00:01.000Z", "2026-01-01T00:00:01.000Z", "mine"),    # a tie: the smaller persona_id
])
def test_the_oldest_persona_survives_and_only_our_own_duplicate_is_deleted(mine_at, theirs_at, survivor):
    client = Client(mine_at, theirs_at)
    lines: list[str] = []
    report = execute(_plan(), client, known_ids=(), known_persona_ids=(), emit=lines.append)
    assert client.created and report.ok
    assert client.deleted == ([] if survivor == "mine" else ["mine"])
    if survivor == "theirs":
        undo = report.outcomes[-1]
        assert undo.change.action is Action.DELETE and undo.change.object_id == "mine"
        assert "another apply created persona theirs first; removed our duplicate mine" in lines[-1]


def test_a_failed_listing_after_create_is_reported_never_guessed():
    client = Client("b", "a", list_fails=True)
    report = execute(_plan(), client, known_ids=(), known_persona_ids=(), emit=lambda line: None)
    assert client.deleted == [] and not report.ok
    assert "could not check for a concurrent apply's duplicate of persona acme-p" in report.failed[0].detail


def test_a_draft_held_update_does_not_stop_the_prune_unless_it_repoints_the_default_replica():
    """Issue 25: a persona held back by an editor draft is drift a person made: the run's other stages go on
    (its deletes too); but an update that moves the persona off a replica keeps the deletes back (the persona
    still references the old one)."""
    from reconciler.engine.models import Change, Plan
    from reconciler.errors import EditorDraftError
    from reconciler.kinds.replicas.models import RemoteReplica

    class Drafted:
        def __init__(self):
            self.deleted = []

        def update_persona(self, pid, ops, **kw):
            raise EditorDraftError("HTTP 409: maker_changes")

        def delete_replica(self, rid):
            self.deleted.append(rid)

        def get_replica(self, rid):  # the re-read right before a delete (issue 24 #3): still as planned
            return RemoteReplica(rid, "acme-old", status="completed")

    for repoint, deleted in ((False, ["r-old"]), (True, [])):
        path = "/default_replica_id" if repoint else "/system_prompt"
        plan = Plan(changes=(
            Change(Action.UPDATE, "acme-p", "differs", kind="personas", object_id="p1",
                   desired=DesiredPersona("acme-p", {}), patch=({"op": "replace", "path": path, "value": "x"},)),
            Change(Action.DELETE, "acme-old", "pruned", object_id="r-old")))
        client = Drafted()
        report = execute(plan, client, known_ids=(), emit=lambda line: None)
        assert client.deleted == deleted
        [held] = report.failed
        assert held.held is not repoint and "re-run with --discard-editor-drafts acme-p" in held.detail


def test_an_editor_draft_is_a_held_line_unless_the_update_repoints_and_other_errors_are_the_executors():
    from reconciler.engine.models import Change
    from reconciler.errors import EditorDraftError, ReconcilerError
    from reconciler.kinds.personas.apply import editor_draft_line, failure, work

    plain = Change(Action.UPDATE, "acme-p", "differs", kind="personas", object_id="p1",
                   patch=({"op": "replace", "path": "/system_prompt", "value": "y"},))
    repoint = Change(Action.UPDATE, "acme-q", "differs", kind="personas", object_id="p2",
                     patch=({"op": "replace", "path": "/default_replica_id", "value": "r9"},))
    held = failure(plain, EditorDraftError("409"))
    assert held.held and not held.ok and held.detail == editor_draft_line("acme-p")
    assert not failure(repoint, EditorDraftError("409")).held  # the default replica must move: it blocks
    assert failure(plain, ReconcilerError("boom")) is None
    gone = Change(Action.DELETE, "acme-z", "prune", kind="personas", object_id="p3")
    assert work([plain, gone, repoint], False) == ([], [plain, repoint], [gone])
