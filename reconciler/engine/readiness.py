"""Waiting for the generic engine's asynchronous kinds (issue 27: documents process like replicas train).

:class:`ObjectRows` is a :class:`~reconciler.engine.waiter.Driver`: its rows join the waiter's live view (one
view, one timeout, one exit code), and between the waiter's polls it reads each pending object's phase through
its kind (:class:`~reconciler.engine.kind.WithReadiness`): one listing per kind per poll (a kind's listing
pages; a missing object is confirmed with one GET before it is reported gone). A failed object ends its row
FAILED with the kind's reason (a document's error code, e.g. ``file_download_failed``): exit 3. Names no kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.engine import bluegreen
from reconciler.engine.kind import WithReadiness, has
from reconciler.engine.status import Phase
from reconciler.engine.waiter import GONE, Tracked, take
from reconciler.errors import ApiError, AuthError, NotFoundError, ReconcilerError


def targets(kinds: Sequence[Any], created: Mapping[tuple[str, str], str], declared: Mapping[str, Sequence[Any]],
            listed: Mapping[str, Sequence[Any]], wanted: Callable[[str], bool] = lambda name: True
            ) -> list[tuple[Any, str, str, str | None]]:
    """(kind, declared name, object id, the id it replaces or None) to wait for: what this run created, every
    declared object of an asynchronous kind the account shows still pending (a run stopped while it
    processed), and the marked successor of every blue/green replace in flight (swapped in once ready)."""
    out: dict[tuple[str, str], tuple[Any, str, str, str | None]] = {}
    for k in kinds:
        if not has(k, WithReadiness):
            continue
        names = {k.name_of(d) for d in declared.get(k.key, ()) if wanted(k.name_of(d))}
        for r in listed.get(k.key, ()):
            name = k.remote_name(r)
            if name in names and k.phase(r).training:
                out[(k.key, name)] = (k, name, k.remote_id(r), None)
        for (key, name), oid in created.items():
            if key == k.key and name in names:
                out[(key, name)] = (k, name, oid, None)
        if bluegreen.blue_green(k):
            for name, (old_id, succ) in bluegreen.successors(k, listed.get(k.key, ())).items():
                if name in names:
                    out[(k.key, name)] = (k, name, k.remote_id(succ), old_id)
    return list(out.values())


class ObjectRows:
    """The waiter's rows for objects of asynchronous kinds, polled through their kinds."""

    busy = False
    _finished: set[int]

    def __init__(self, client: Any, items: Sequence[tuple[Any, str, str, str | None]],
                 warn: Callable[[str], None] = print, note: Callable[[str], None] = print):
        self.client, self.warn, self.note = client, warn, note
        self.items = list(items)
        self._finished = set()
        self.rows = [Tracked(f"{k.noun} {name}" + (" (replacement)" if old else ""), oid, polled_by_driver=True)
                     for k, name, oid, old in self.items]

    def what(self) -> str:
        """``2 document(s)``, per kind, for the wait's first line."""
        counts: dict[str, int] = {}
        for k, _name, _oid, _old in self.items:
            counts[k.noun] = counts.get(k.noun, 0) + 1
        return " and ".join(f"{n} {noun}(s)" for noun, n in counts.items())

    def tick(self) -> None:
        by_kind: dict[str, list[tuple[Any, Tracked]]] = {}
        for (k, _name, _oid, _old), row in zip(self.items, self.rows, strict=True):
            if not row.done:
                by_kind.setdefault(k.key, []).append((k, row))
        for pending in by_kind.values():
            self._poll(pending)
        for item, row in zip(self.items, self.rows, strict=True):
            if item[3] is not None and row.done and id(row) not in self._finished:
                self._finished.add(id(row))
                self._finish(item, row)

    def _finish(self, item: tuple[Any, str, str, str | None], row: Tracked) -> None:
        """A blue/green successor is done: swap it in when ready (re-point, delete old, rename), or remove it
        when it failed (the old object keeps serving; the row stays FAILED: exit 3)."""
        k, name, new_id, old_id = item
        try:
            if row.phase is Phase.READY:
                bluegreen.swap(k, None, self.client, name, old_id, new_id, note=self.note)
            elif row.phase is Phase.FAILED:
                bluegreen.drop_failed(k, self.client, new_id)
                row.error_message = (f"{row.error_message or 'failed'}; the successor was removed and the old "
                                     f"{old_id} keeps serving")
        except ReconcilerError as e:
            row.phase, row.status = Phase.FAILED, "swap failed"
            row.error_message = f"{e} (the old {old_id} is kept)"

    def _poll(self, pending: list[tuple[Any, Tracked]]) -> None:
        k = pending[0][0]
        try:
            seen = {k.remote_id(r): r for r in k.list(self.client)}
        except AuthError:
            raise
        except ApiError as e:
            self.warn(f"poll of the {k.key} failed, will retry at the next interval: {e}")
            return
        for _k, row in pending:
            before = row.status
            r = seen.get(row.object_id) or self._confirm(k, row)
            if r is None:
                row.phase, row.status = GONE, GONE
                row.error_message = "deleted by someone else while waiting"
            elif r is not False:
                take(k, row, r)
            if row.status != before:
                why = f": {row.error_message}" if row.error_message else ""
                self.note(f"{row.name} ({row.object_id}): {row.status}{why}")

    def _confirm(self, k: Any, row: Tracked) -> Any:
        try:
            return k.get(self.client, row.object_id)
        except NotFoundError:
            return None
        except AuthError:
            raise
        except ApiError as e:
            self.warn(f"could not check {row.name} ({row.object_id}): {e}")
            return False


class Both:
    """Two drivers as one (a replicas' rollout and the object rows): rows of both, busy while either is."""

    def __init__(self, first: Any, second: Any):
        self.first, self.second = first, second
        self.rows = [*first.rows, *second.rows]

    @property
    def busy(self) -> bool:
        return bool(self.first.busy or self.second.busy)

    def tick(self) -> None:
        self.first.tick()
        self.second.tick()
