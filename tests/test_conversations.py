"""reconciler.api.conversations: a test-mode check never leaves a live conversation, a real one is never
started twice after a lost answer."""

from __future__ import annotations

import json

import httpx
import pytest

from reconciler.api.client import TavusClient
from reconciler.api.conversations import Conversation
from reconciler.errors import CreateOutcomeUnknownError, UsageError

KEY = "conversations-test-key-0123456789"


def client(answers):
    sent = []

    def handle(request):
        sent.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return TavusClient("https://api.test", KEY, transport=httpx.MockTransport(handle), sleep=lambda s: None,
                       backoff_base=0.0), sent


def test_a_test_mode_conversation_the_server_left_active_is_ended():
    c, sent = client([httpx.Response(200, json={"conversation_id": "c1", "status": "active"}),
                      httpx.Response(200, json={})])
    with c:
        conv = c.create_conversation(persona_id="p1", test_mode=True, name="check")
    assert json.loads(sent[0].content) == {"persona_id": "p1", "conversation_name": "check", "test_mode": True}
    assert sent[1].url.path == "/v2/conversations/c1/end"
    assert conv.ended_by_us and "has been ended" in conv.notes()


def test_a_lost_answer_of_a_real_conversation_is_not_retried():
    c, sent = client([httpx.ReadTimeout("lost")])
    with c, pytest.raises(CreateOutcomeUnknownError, match="not starting a second"):
        c.create_conversation(replica_id="r1")
    assert len(sent) == 1


def test_a_lost_answer_of_a_test_mode_one_is_retried_and_reported():
    c, sent = client([httpx.ReadTimeout("lost"), httpx.Response(200, json={"conversation_id": "c2",
                                                                           "status": "ended"})])
    with c:
        conv = c.create_conversation(replica_id="r1", test_mode=True, name="n")
    assert len(sent) == 2 and conv.lost_answers == 1 and "earlier attempt" in conv.notes()


def test_a_conversation_needs_a_replica_or_a_persona():
    c, _ = client([])
    with c, pytest.raises(UsageError):
        c.create_conversation()


def test_notes_of_a_failed_end_say_it_may_be_live():
    assert "may be live" in Conversation("c1", end_error="HTTP 500", ended_by_us=True).notes()
    assert Conversation("c1").notes() == ""
