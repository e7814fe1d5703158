"""workflows/conversing.py: ``smoke`` and ``converse`` refuse what is not declared, and a conversation_url is
printed only when it is a clean http(s) URL."""

from __future__ import annotations

import pytest
from captured import Captured, sim_client
from e2e import replicas_file

from reconciler.engine.config import load_config
from reconciler.errors import UsageError
from reconciler.workflows import conversing


@pytest.fixture
def client(sim):
    yield from sim_client(sim)


def test_conversation_url_is_kept_clean_or_refused():
    assert conversing.conversation_url("https://tavus.daily.co/c1?t=x") == "https://tavus.daily.co/c1?t=x"
    assert conversing.conversation_url("https://tavus.daily.co/c\u202e1\x1b[2J") == "https://tavus.daily.co/c1[2J"
    assert conversing.conversation_url("javascript:alert(1)") is None
    assert conversing.conversation_url(None) is None


def test_smoke_and_converse_refuse_an_undeclared_name_before_any_request(sim, client, tmp_path):
    config = load_config(replicas_file(tmp_path, sim, ["acme-a"]))
    with pytest.raises(UsageError, match="declares no personas"):
        conversing.smoke(config, client, Captured().console())
    with pytest.raises(UsageError, match="no persona of that name"):
        conversing.smoke(config, client, Captured().console(), targets=("nobody",))
    with pytest.raises(UsageError, match="nobody: no persona or replica of that name"):
        conversing.converse(config, client, Captured().console(), name="nobody")
    assert [r for r in sim.requests if r["method"] == "POST"] == []
