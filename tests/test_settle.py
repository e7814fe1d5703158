"""reconciler.api.settle: a lost create answer is settled against the account: an object with the name that
did not exist is adopted (once), a confirmed absence lets the create go again, a failing check is "unknown"."""

from __future__ import annotations

import httpx
import pytest

from reconciler.api.client import TavusClient
from reconciler.api.listing import Listing
from reconciler.errors import CreateOutcomeUnknownError, InconsistentListError

KEY = "settle-test-key-0123456789"
THINGS = Listing(path="/v2/things", noun="thing", id_field="thing_id", name_field="thing_name")


def client(**kw):
    kw.setdefault("create_settle", 0.0)
    return TavusClient("https://api.test", KEY, transport=httpx.MockTransport(lambda r: httpx.Response(500)),
                       sleep=lambda s: None, backoff_base=0.0, **kw)


def listing(*items):
    return lambda: [{"thing_id": i, "thing_name": n} for i, n in items]


def test_an_object_made_since_the_plan_is_adopted_once():
    with client() as c:
        assert c._settle("a", frozenset({"t1"}), "timed out", THINGS, listing(("t1", "a"), ("t2", "a"))) == "t2"
        # a second lost create of the same name cannot adopt the same object again
        assert c._settle("a", frozenset({"t1"}), "timed out", THINGS, listing(("t1", "a"), ("t2", "a"))) is None


def test_a_known_or_other_named_object_is_never_adopted():
    with client() as c:
        assert c._settle("a", frozenset({"t1"}), "reset", THINGS, listing(("t1", "a"), ("t3", "b"))) is None


def test_a_listing_that_fails_is_never_taken_as_absence():
    def failing():
        raise InconsistentListError("bad list", method="GET", path="/v2/things")

    with client() as c, pytest.raises(CreateOutcomeUnknownError, match="could not be checked"):
        c._settle("a", frozenset(), "HTTP 504", THINGS, failing)


def test_the_settle_window_is_waited_over_several_listings():
    calls = []
    slept = []

    def growing():
        calls.append(1)
        return [{"thing_id": "t9", "thing_name": "a"}] if len(calls) >= 3 else []

    c = TavusClient("https://api.test", KEY, transport=httpx.MockTransport(lambda r: httpx.Response(500)),
                    sleep=slept.append, create_settle=5.0)
    with c:
        assert c._settle("a", frozenset(), "timed out", THINGS, growing) == "t9"
    assert len(calls) == 3 and len(slept) == 2
