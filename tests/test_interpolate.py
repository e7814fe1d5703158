"""reconciler.engine.interpolate: ${VAR}, ${VAR:-default}, $${ and the located errors of a malformed ${."""

from __future__ import annotations

import pytest

from reconciler.engine.interpolate import InterpolationError, interpolate

ENV = {"HOST": "cdn.example", "EMPTY": "", "KEY": "s3cr3t"}


@pytest.mark.parametrize("text,want", [
    ("plain", "plain"),
    ("https://${HOST}/a.mp4", "https://cdn.example/a.mp4"),
    ("${MISSING:-fallback}", "fallback"),
    ("${EMPTY:-fallback}", "fallback"),  # an empty value takes the default, like the shell's :-
    ("$${HOST}", "${HOST}"),
    ("cost $5 and ${HOST}", "cost $5 and cdn.example"),
    ("${HOST}${HOST}", "cdn.examplecdn.example"),
])
def test_resolves(text, want):
    assert interpolate(text, ENV) == (want, ())


def test_an_unset_variable_keeps_the_raw_text_and_is_listed_once():
    assert interpolate("${B} ${A} $${x} ${A}", {}) == ("${B} ${A} $${x} ${A}", ("A", "B"))


def test_used_records_what_came_from_the_environment_not_the_defaults():
    used: list = []
    interpolate("${KEY}/${MISSING:-d}/${EMPTY:-e}", ENV, used=used)
    assert used == [("KEY", "s3cr3t"), ("MISSING", None), ("EMPTY", None)]


@pytest.mark.parametrize("text,match", [("${HOST", "unterminated"), ("${1X}", "invalid variable reference"),
                                        ("${A:-${B}}", "nested"), ("${}", "invalid variable reference")])
def test_malformed_references_are_one_clear_error(text, match):
    with pytest.raises(InterpolationError, match=match) as e:
        interpolate(text, ENV)
    assert "\n" not in str(e.value)


def test_a_long_bad_reference_is_shortened_in_the_message():
    with pytest.raises(InterpolationError) as e:
        interpolate("${" + "x y" * 40 + "}", ENV)
    assert "..." in str(e.value) and len(str(e.value)) < 250
