"""Listings of the one client: every page, or a typed error (a plan is never computed from a listing the
client cannot vouch for).

The first page tells the total and the page size the server really serves (it may cap ``limit``); later
pages are asked with that size, all at once up to ``max_concurrency`` in flight (checked in page order as
they arrive: the first contradiction stops the rest, so a bogus total never costs more than one flight of
requests), and never more than the total allows (``MAX_PAGES``). Page numbers are counted from 1 here and
sent from the collection's ``first_page`` (documents are 0-based).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.api.listing import planned_pages
from reconciler.api.tables import _REPLICAS
from reconciler.errors import InconsistentListError, MalformedResponseError
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.kinds.replicas.readiness import is_known

MAX_PAGES = 5000  # a listing that needs more pages than this is refused (a bogus total_count, not an account)
NO_TOTAL_SECONDS = 60.0  # a listing without total_count is read one page at a time: at most this long

status_log = logging.getLogger("reconciler.engine.status")


class _TotalChanged(Exception):
    """total_count differed between pages of one listing."""


class _Paging:
    """The paging of :class:`~reconciler.api.client.TavusClient` (a mixin)."""

    no_total_seconds = NO_TOTAL_SECONDS

    def _item(self, kind: Any, data: Any, method: str, path: str) -> Any:
        try:
            if not isinstance(data, Mapping):
                raise TypeError(type(data).__name__)
            item = kind.parse(data)
        except (KeyError, TypeError) as e:
            raise MalformedResponseError(f"a {kind.noun} object without a usable {kind.id_field} ({e})",
                                         method=method, path=path) from None
        if isinstance(item, RemoteReplica) and not is_known(item.status) \
                and item.status not in self._unknown_statuses:
            self._unknown_statuses.add(item.status)
            status_log.warning("unknown replica status %r: treating it as still training", item.status)
        return item

    def _page(self, params: Mapping[str, str], page: int, limit: int,
              kind: Any = None) -> tuple[list[Any], int | None]:
        kind = kind or _REPLICAS
        query = {**kind.params, **params, "limit": str(limit), "page": str(page - 1 + kind.first_page)}
        body = self._call("GET", kind.path, params=query)
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise MalformedResponseError("the list answer has no 'data' array", method="GET", path=kind.path)
        total = body.get("total_count")
        total = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
        try:  # the hot path (a page of well-formed objects: JSON gives dicts, the only type with .get)
            items = list(map(kind.parser(), data))
        except (KeyError, TypeError, AttributeError):
            return [self._item(kind, item, "GET", kind.path) for item in data], total
        if kind is _REPLICAS:
            for status in {r.status for r in items} - self._unknown_statuses:
                if not is_known(status):
                    self._unknown_statuses.add(status)
                    status_log.warning("unknown replica status %r: treating it as still training", status)
        return items, total

    def _list_all(self, params: Mapping[str, str], cap: int | None = None, kind: Any = None) -> list[Any]:
        """Every page, or a typed error (see the module docstring). The listing ends, as documented, when
        every promised item is seen, every page agreeing on the total. An empty page before the total, a page
        of ids already seen, more items than the total are contradictions (InconsistentListError). A total
        that changes (someone created or deleted while we read) restarts the listing once; a second change is
        an error too. ``cap``: the most items the query can match (the number of replica_ids asked for)."""
        kind = kind or _REPLICAS
        for attempt in range(2):
            try:
                return self._list_pages(params, cap, kind)
            except _TotalChanged:
                if attempt:
                    raise InconsistentListError(f"the {kind.noun} list kept changing while it was read "
                                                "(total_count changed twice); nothing was done; try again",
                                                method="GET", path=kind.path) from None
        raise AssertionError("unreachable")

    def _inconsistent(self, why: str, kind: Any = None) -> InconsistentListError:
        kind = kind or _REPLICAS
        return InconsistentListError(f"the {kind.noun} list is inconsistent: {why}; nothing was done (a plan "
                                     f"from it could duplicate or delete {kind.noun}s); try again, and report "
                                     "the API's behaviour if it persists", method="GET", path=kind.path)

    def _list_pages(self, params: Mapping[str, str], cap: int | None = None, kind: Any = None) -> list[Any]:
        kind = kind or _REPLICAS
        limit = max(1, self.page_size)
        page_one = threading.Event()
        if self.max_concurrency > 1:
            self._limiter.prestart(page_one)  # threads for the other pages start while page 1 is on the wire
        try:
            first, total = self._page(params, 1, limit, kind)
        finally:
            page_one.set()
        seen: dict[str, Any] = {}
        for r in first:
            seen.setdefault(kind.key(r), r)
        if total is None:
            return self._list_without_total(params, first, seen, limit, kind)
        size = max(len(first), 1)
        planned = self._check_first_page(len(first), len(seen), total, kind)
        page = 1
        # the documented end: total_count items seen (every page agreeing on the total). Until then every page
        # that can still hold promised items goes out at once, as many in flight as the limit allows; they are
        # checked in page order as they arrive, and the first contradiction stops the rest (bounded work)
        while len(seen) < total:
            batch = list(range(page + 1, max(planned, page + 1) + 1))
            if batch[-1] > MAX_PAGES:
                raise self._inconsistent(f"still short of total_count {total} after {page} pages", kind)
            for p, items in self._pages_in_order(params, batch, size, kind, total):
                page = p
                self._take_page(p, items, seen, total, kind)
            planned = max(planned, page + 1)  # short pages: the rest of the promised items are further on
        return list(seen.values())

    def _check_first_page(self, size: int, seen: int, total: int, kind: Any) -> int:
        """The pages the first page's answer plans (an inconsistent first page raises)."""
        if total > 0 and size == 0:
            raise self._inconsistent(f"page 1 is empty but total_count is {total}", kind)
        if seen > total:
            raise self._inconsistent(f"page 1 holds {seen} {kind.noun}s but total_count is {total}", kind)
        size = max(size, 1)
        planned = planned_pages(total, size)
        if planned > MAX_PAGES:
            raise self._inconsistent(f"total_count {total} at {size} per page would need {planned} pages "
                                     f"(more than {MAX_PAGES})", kind)
        return planned

    def _take_page(self, p: int, items: list[Any], seen: dict[str, Any], total: int, kind: Any) -> None:
        """Add page ``p``'s items to ``seen``, or raise on a contradiction with what was seen and the total."""
        if len(seen) >= total:  # everything seen: a page after that must be empty
            if items:
                raise self._inconsistent(f"page {p} holds {kind.noun}s beyond total_count {total}", kind)
            return
        if not items:
            raise self._inconsistent(f"page {p} is empty after {len(seen)} of {total} {kind.noun}s", kind)
        keys = list(map(kind.key, items))
        if seen.keys().isdisjoint(keys):  # the usual page: all of it new
            seen.update(zip(keys, items, strict=True))
        else:
            new = [(k, r) for k, r in zip(keys, items, strict=True) if k not in seen]
            if not new:
                raise self._inconsistent(f"page {p} repeats {kind.noun}s already seen (does the server ignore "
                                         "'page'?)", kind)
            seen.update(new)
        if len(seen) > total:
            raise self._inconsistent(f"more than total_count {total} {kind.noun}s were listed", kind)

    def _pages_in_order(self, params: Mapping[str, str], pages: list[int], size: int, kind: Any,
                        total: int):
        """Yield ``(page, items)`` in page order while the pages are fetched concurrently (the adaptive limit
        decides how many at once). A page whose total differs raises :class:`_TotalChanged`; whatever the
        consumer raises stops the pages not yet started (those in flight finish first)."""
        if len(pages) <= 1:
            for p in pages:
                items, t = self._page(params, p, size, kind)
                if t is not None and t != total:
                    raise _TotalChanged()
                yield p, items
            return
        run = self._limiter.map(lambda p: self._page(params, p, size, kind), pages, window=self.max_concurrency)
        arrived: dict[int, list[Any]] = {}
        at = 0
        try:
            for p, (items, t) in run:
                if t is not None and t != total:
                    raise _TotalChanged()
                arrived[p] = items
                while at < len(pages) and pages[at] in arrived:
                    yield pages[at], arrived.pop(pages[at])
                    at += 1
        except BaseException:
            run.stop()
            run.drain()
            raise

    def _list_without_total(self, params: Mapping[str, str], first: list[Any], seen: dict[str, Any], limit: int,
                            kind: Any = None) -> list[Any]:
        """No total_count (not the documented shape; tolerated): pages one by one until an empty one, each
        page bringing new ids, at most MAX_PAGES and at most ``NO_TOTAL_SECONDS`` in all: a server that never
        ends is refused in bounded time, not after 5,000 round trips."""
        kind = kind or _REPLICAS
        items, page, size = first, 1, len(first) or limit
        budget = self.no_total_seconds
        ends = time.monotonic() + budget
        while items:
            page += 1
            if page > MAX_PAGES:
                raise self._inconsistent(f"no end after {MAX_PAGES} pages", kind)
            if time.monotonic() > ends:
                raise self._inconsistent(f"no end after {page - 1} pages in {budget:g}s (the answers carry no "
                                         "total_count, so the listing cannot be read concurrently)", kind)
            items, _ = self._page(params, page, size, kind)
            new = [r for r in items if kind.key(r) not in seen]
            if items and not new:
                raise self._inconsistent(f"page {page} repeats {kind.noun}s already seen (does the server ignore "
                                         "'page'?)", kind)
            for r in new:
                seen[kind.key(r)] = r
        return list(seen.values())

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over ``items``, results in order, as many at once as the adaptive limit allows (at most
        ``max_concurrency``); inline for a single item."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        return self._limiter.map(fn, items).results()
