"""What the client needs to know about one collection of the Tavus API, described by data.

:class:`Listing` is the generic description a kind hands to the client's generic calls
(:meth:`~reconciler.api.client.TavusClient.list_objects`, ``get_object``, ``create_object``,
``patch_object``, ``delete_object``): its collection path, id and name fields, page base (documents are
0-based, replicas and personas 1-based), fixed query parameters (guardrails' ``legacy=false``), the other
fields an id may come back in (guardrails' ``uuid``), how an item is parsed, keyed and named.

:class:`TableKind` is the same interface read from a kind's vocabulary table (``kind.api``, issue 25) at
every use, for replicas and personas: switching the table switches the whole client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote


def planned_pages(total: int, per_page: int) -> int:
    """Pages needed for ``total`` items at ``per_page`` a page (rounded up: a last partial page is a page)."""
    return -(-total // per_page)


@dataclass(frozen=True)
class Listing:
    """A collection described by data (see the module docstring; /work/wt/API.md has the contract).

    ``parse`` turns one API item (a mapping, already carrying ``id_field`` when the id came back in one of
    ``id_aliases``) into the kind's remote model; None keeps the mapping (a plain ``dict``). ``key`` and
    ``name_of`` read the id and the name from a parsed item; by default ``item[id_field]`` /
    ``item.get(name_field)`` for a mapping, ``item.<id_field>`` / ``item.name`` for an object."""

    path: str  # "/v2/documents"
    noun: str  # "document", for messages
    id_field: str  # "document_id"
    name_field: str  # "document_name"
    first_page: int = 1  # the server's number of the first page: 0 for documents, 1 for replicas/personas
    params: Mapping[str, str] = field(default_factory=dict)  # fixed query params of a listing: {"legacy": "false"}
    id_aliases: tuple[str, ...] = ()  # other fields the id may come back in: ("uuid",)
    parse_item: Callable[[Mapping[str, Any]], Any] | None = None
    key_of: Callable[[Any], str] | None = None
    name_getter: Callable[[Any], Any] | None = None
    gone_words: tuple[str, ...] = ()  # a 400 whose message holds one of these means "no such id" (lower case)

    def with_id(self, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """``data`` with ``id_field`` filled from the first alias present, when the id came back there."""
        if self.id_field in data:
            return data
        for alias in self.id_aliases:
            value = data.get(alias)
            if isinstance(value, str) and value:
                return {**data, self.id_field: value}
        return data

    def parse(self, data: Mapping[str, Any]) -> Any:
        data = self.with_id(data)
        if self.parse_item is not None:
            return self.parse_item(data)
        if not isinstance(data.get(self.id_field), str):
            raise KeyError(self.id_field)
        return dict(data)

    def parser(self) -> Callable[[Mapping[str, Any]], Any]:
        """What parses one item of a page (:meth:`parse`), looked up once a page."""
        return self.parse

    def key(self, item: Any) -> str:
        if self.key_of is not None:
            return self.key_of(item)
        return item[self.id_field] if isinstance(item, Mapping) else getattr(item, self.id_field)

    def name_of(self, item: Any) -> Any:
        if self.name_getter is not None:
            return self.name_getter(item)
        return item.get(self.name_field) if isinstance(item, Mapping) else item.name

    def outgoing(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(body)

    def outgoing_patch(self, ops: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [dict(op) for op in ops]

    def answer_id(self, body: Mapping[str, Any]) -> Any:
        """The id in a create answer: ``id_field``, else the first alias present."""
        return self.with_id(body).get(self.id_field)

    def item_path(self, object_id: str) -> str:
        return f"{self.path}/{quote(str(object_id), safe='')}"

    def gone(self, message: str) -> bool:
        words = self.gone_words or (f"invalid {self.id_field}",)
        return any(w in message.lower() for w in words)


class TableKind:
    """A listable collection read from a resource kind's one table (``kind.api``, a ``kinds.Vocabulary``) at
    every use, so switching the table switches the whole client (issue 25). Same interface as
    :class:`Listing`."""

    first_page = 1
    params: Mapping[str, str] = {}
    id_aliases: tuple[str, ...] = ()

    def __init__(self, kind: Any, parse: Callable[[Mapping[str, Any]], Any], key: Callable[[Any], str]):
        self.kind, self._parse, self.key = kind, parse, key
        self.noun = kind.noun

    @property
    def api(self) -> Any:
        return self.kind.api

    @property
    def path(self) -> str:
        return self.kind.api.path

    @property
    def name_field(self) -> str:
        return self.kind.api.name_field

    @property
    def id_field(self) -> str:
        return self.kind.api.id_field

    @staticmethod
    def name_of(item: Any) -> Any:
        return item.name

    def parse(self, data: Mapping[str, Any]) -> Any:
        api, legacy = self.kind.api, self.kind.legacy
        return self._parse(data if api is legacy else api.incoming(data, legacy))

    def parser(self) -> Callable[[Mapping[str, Any]], Any]:
        """What parses one item of a page, looked up once a page: the model's own parse while the table speaks
        the legacy names (a listing of 100,000 replicas calls it 100,000 times)."""
        return self._parse if self.kind.api is self.kind.legacy else self.parse

    def outgoing(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A body the models built with the legacy names, in the names the table speaks."""
        api, legacy = self.kind.api, self.kind.legacy
        return dict(body) if api is legacy else api.outgoing(body, legacy)

    def outgoing_patch(self, ops: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """JSON Patch operations the models built (``/persona_name``...), their paths in the table's names."""
        api, legacy = self.kind.api, self.kind.legacy
        if api is legacy:
            return [dict(op) for op in ops]
        names = api.renames(legacy)
        out = []
        for op in ops:
            head, sep, rest = str(op.get("path", "")).lstrip("/").partition("/")
            out.append({**op, "path": "/" + names.get(head, head) + sep + rest})
        return out

    def answer_id(self, body: Mapping[str, Any]) -> Any:
        return body.get(self.id_field)

    @staticmethod
    def with_id(data: Mapping[str, Any]) -> Mapping[str, Any]:
        return data

    def gone(self, message: str) -> bool:
        return f"invalid {self.id_field}" in message.lower()

    def item_path(self, object_id: str) -> str:
        return f"{self.kind.api.path}/{quote(str(object_id), safe='')}"
