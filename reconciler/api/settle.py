"""Creates that never duplicate: Tavus has no idempotency key, so a create whose answer was lost (timeout,
reset, 5xx after the server may have acted) is never simply retried.

The client re-lists the account over a settle window (``TAVUS_CREATE_SETTLE_SECONDS``, default 30: a gateway
may answer 504 while the backend still creates the object a second later) and adopts an object with that
name that did not exist when the plan was made. It POSTs again only once a listing made after the window
confirms the name absent; a listing that fails is never taken as absence: the create's outcome is then
unknown (:class:`CreateOutcomeUnknownError`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.api.redact import escape_control
from reconciler.api.tables import _REPLICAS
from reconciler.errors import ApiError, AuthError, CreateOutcomeUnknownError, MalformedResponseError

log = logging.getLogger("reconciler.api.client")


@dataclass(frozen=True)
class _Adopted:
    """What a lost create's settle found: the replica (or persona) it made."""

    replica_id: str


class _Creating:
    """The never-duplicate create of :class:`~reconciler.api.client.TavusClient` (a mixin)."""

    def _create(self, kind: Any, payload: Mapping[str, Any], known_ids: Collection[str],
                listing: Callable[[], list[Any]]) -> str:
        """POST ``payload`` to ``kind``'s collection and return the new id (see the module docstring)."""
        payload = kind.outgoing(payload)
        name = str(payload.get(kind.name_field, ""))
        known = frozenset(known_ids)

        def adopt(reason: str) -> _Adopted | None:
            rid = self._settle(name, known, reason, kind, listing)
            return None if rid is None else _Adopted(rid)

        body = self._call("POST", kind.path, json=dict(payload), before_retry=adopt)
        if isinstance(body, _Adopted):  # a type of our own: no server answer (a bare JSON string) can pass for it
            return body.replica_id
        rid = kind.answer_id(body) if isinstance(body, Mapping) else None
        if not isinstance(rid, str) or not rid:
            raise MalformedResponseError(f"the create answer has no {kind.id_field}; run plan to see whether the "
                                         f"{kind.noun} was created", method="POST", path=kind.path)
        with self._lock:
            self._adopted.add(rid)
        return rid

    def _settle(self, name: str, known: frozenset[str], reason: str, kind: Any = None,
                listing: Callable[[], list[Any]] | None = None) -> str | None:
        """After a lost create answer: the id of the object it made (adopted), or None once a listing made
        after the settle window confirms it absent. Lists every few seconds over the window; a listing error
        only means "not confirmed", never "absent". The confirming listing waits (boundedly) for this client's
        other creates on the wire to land, so its own parallel creates do not keep the listing changing."""
        kind = kind or _REPLICAS
        deadline = time.monotonic() + self.create_settle
        step = max(0.05, min(2.0, self.create_settle / 5))
        while True:
            final = time.monotonic() >= deadline
            if final:
                with self._posts_idle:
                    self._posts_idle.wait_for(lambda: self._posting == 0, timeout=self.timeout + 1)
            failure = None
            try:
                rid = self._adoptable(name, known, kind, listing or self.list_replicas)
                if rid is not None:
                    return rid
            except AuthError:
                raise
            except ApiError as e:
                failure = e
            if final:
                if failure is None:
                    return None  # confirmed absent after the server had time to act: safe to send again
                raise CreateOutcomeUnknownError(
                    f"the answer was lost ({reason}) and the account could not be checked within the "
                    f"{self.create_settle:g}s settle window ({failure}); not sending it again: the next run adopts "
                    f"the {kind.noun} if it was made", method="POST", path=kind.path)
            self._sleep(max(0.0, min(step, deadline - time.monotonic())))

    def _adoptable(self, name: str, known: frozenset[str], kind: Any, listing: Callable[[], list[Any]]) -> str | None:
        """The id of a listed object named ``name`` that is neither known nor adopted already (now adopted)."""
        for r in listing():
            rid = kind.key(r)
            if kind.name_of(r) == name and rid not in known:
                with self._lock:
                    if rid in self._adopted:
                        continue
                    self._adopted.add(rid)
                log.info("adopted %s (%s): the create went through although its answer was lost",
                         rid, escape_control(name))
                return rid
        return None
