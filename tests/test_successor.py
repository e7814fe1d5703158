"""reconciler.engine.successor: a replace's marked name round-trips, and nothing else parses as one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.engine.successor import MARK, parse_successor, successor_name


def test_a_successor_name_encodes_the_replica_it_replaces():
    assert successor_name("alice", "r123") == "alice~next~r123"
    assert parse_successor("alice~next~r123") == ("alice", "r123")


def test_the_last_mark_wins_so_a_declared_name_may_contain_the_mark():
    assert parse_successor(successor_name("a~next~b", "r9")) == ("a~next~b", "r9")


@pytest.mark.parametrize("name", ["alice", "~next~r1", "alice~next~", "alice~next~r 1", "alice~next~r~1",
                                  "alice~nex~r1", ""])
def test_other_names_are_not_successors(name):
    assert parse_successor(name) is None


@given(st.text(min_size=1), st.text(alphabet=st.characters(blacklist_characters="~", blacklist_categories=("Zs", "Cc")),
                                    min_size=1).filter(lambda s: not any(c.isspace() for c in s)))
def test_round_trip(name, old_id):
    assert parse_successor(successor_name(name, old_id)) == (name, old_id)
    assert MARK in successor_name(name, old_id)
