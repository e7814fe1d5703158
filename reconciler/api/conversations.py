"""Conversations on the one client: a test-mode conversation checks that the API accepts a persona/replica
pair without leaving a live (billed) conversation behind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.api.transport import CONVERSATIONS_PREFIX
from reconciler.errors import CreateOutcomeUnknownError, MalformedResponseError, UsageError


@dataclass(frozen=True)
class Conversation:
    """A conversation as created: ``conversation_url`` is what a person opens to talk to the replica."""

    conversation_id: str
    conversation_url: str | None = None
    status: str | None = None  # "active" | "ended" (test_mode conversations are created ended)
    conversation_name: str | None = None
    ended_by_us: bool = False  # a test-mode one the server left active (it ignores test_mode): ended at once
    end_error: str | None = None  # ...and ending it failed: it may still be live
    lost_answers: int = 0  # earlier attempts whose answer was lost: each may have started a conversation too

    def notes(self) -> str:
        """What a person must know besides "accepted": a conversation this check left behind, or may have."""
        out = []
        if self.end_error:
            out.append(f"the server ignored test_mode and ending conversation {self.conversation_id} failed "
                       f"({self.end_error}): it may be live and billed; end it in the Tavus dashboard")
        elif self.ended_by_us:
            out.append(f"the server ignored test_mode: conversation {self.conversation_id} was live and has been "
                       "ended")
        if self.lost_answers:
            live = " and may be live (this server ignores test_mode)" if self.ended_by_us else ""
            out.append(f"{self.lost_answers} earlier attempt(s) lost their answer: each may have started a "
                       f"conversation named {self.conversation_name!r} too{live}; check the Tavus dashboard")
        return "; ".join(out)


class _Conversations:
    """The conversation calls of :class:`~reconciler.api.client.TavusClient` (a mixin)."""


    def create_conversation(self, *, replica_id: str | None = None, persona_id: str | None = None,
                            test_mode: bool = False, name: str | None = None,
                            extra: Mapping[str, Any] | None = None) -> Conversation:
        """POST /v2/conversations. ``test_mode=True``: created already ended, never joined, free (a check
        that the API accepts the persona/replica pair); should a server ignore ``test_mode`` and answer
        ``active``, the conversation is ended at once, so a check never leaves a live (billed) one behind. A
        lost answer of a test-mode create is retried (a second free, ended conversation harms nobody); of a
        real one it is not (a second live conversation would be joined by the replica and billed):
        :class:`CreateOutcomeUnknownError`."""
        if not replica_id and not persona_id:
            raise UsageError("a conversation needs a replica_id or a persona_id")
        payload: dict[str, Any] = dict(extra or {})
        if replica_id:
            payload["replica_id"] = replica_id
        if persona_id:
            payload["persona_id"] = persona_id
        if name:
            payload["conversation_name"] = name
        if test_mode:
            payload["test_mode"] = True

        def refuse(reason: str) -> Any:
            raise CreateOutcomeUnknownError(
                f"the answer was lost ({reason}): a conversation may have been started; not starting a second "
                "one", method="POST", path=CONVERSATIONS_PREFIX)

        lost: list[str] = []

        def count(reason: str) -> None:  # a test-mode create is retried, but each lost answer is reported
            lost.append(reason)

        body = self._call("POST", CONVERSATIONS_PREFIX, json=payload, before_retry=count if test_mode else refuse)
        cid = body.get("conversation_id") if isinstance(body, Mapping) else None
        if not isinstance(cid, str) or not cid:
            raise MalformedResponseError("the conversation answer has no conversation_id", method="POST",
                                         path=CONVERSATIONS_PREFIX)

        def text(key: str) -> str | None:
            value = body.get(key)
            return value if isinstance(value, str) else None

        conv = Conversation(cid, text("conversation_url"), text("status"), text("conversation_name") or name,
                            lost_answers=len(lost))
        if test_mode and conv.status == "active":  # the server ignored test_mode: end what we created
            import dataclasses

            from reconciler.errors import ReconcilerError

            try:
                self.end_conversation(cid)
            except ReconcilerError as e:
                return dataclasses.replace(conv, ended_by_us=True, end_error=str(e))
            return dataclasses.replace(conv, ended_by_us=True)
        return conv

    def end_conversation(self, conversation_id: str) -> None:
        self._call("POST", f"{CONVERSATIONS_PREFIX}/{quote(str(conversation_id), safe='')}/end")

    def delete_conversation(self, conversation_id: str) -> None:
        """Soft delete (``hard=true`` is never sent)."""
        self._call("DELETE", f"{CONVERSATIONS_PREFIX}/{quote(str(conversation_id), safe='')}")
