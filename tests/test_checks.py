"""reconciler.engine.checks: the URL, name and ${VAR} checks every kind's rules share."""

from __future__ import annotations

import pytest

from reconciler.engine.checks import ONLY_VAR, invisible_in, plain, plain_name, show_url, url_problem


@pytest.mark.parametrize("url, problem", [
    ("https://v.example.com/a.mp4", None),
    ("http://v.example.com:8080/a.mp4", None),
    ("https://v.example.com/a b.mp4", "must not contain spaces or control characters"),
    ("ftp://v.example.com/a.mp4", "must be an http:// or https:// URL"),
    ("https:///a.mp4", "has no host"),
    ("https://v..example.com/a.mp4", "has an empty label in its host name"),
    ("https://v.example.com:99999/a.mp4", "is not a valid URL"),
])
def test_url_problem(url, problem):
    assert url_problem(url) == problem


def test_show_url_hides_a_presigned_signature():
    shown = show_url("https://b.s3.amazonaws.com/a.mp4?X-Amz-Signature=deadbeefcafe&X-Amz-Credential=k")
    assert "deadbeefcafe" not in shown and shown.startswith("'https://b.s3.amazonaws.com/a.mp4")


def test_invisible_in_names_the_character_and_its_position():
    assert invisible_in("acme\u200banna") == "U+200B ZERO WIDTH SPACE at position 5"
    assert invisible_in("acme-anna") is None


@pytest.mark.parametrize("name, plain_enough", [("acme-anna", True), ("", False), (" a", False), ("a\x07", False),
                                                ("x" * 129, False), (3, False)])
def test_plain_name(name, plain_enough):
    assert plain_name(name) is plain_enough


def test_only_var_and_plain():
    assert ONLY_VAR.match("${OPENAI_KEY}") and not ONLY_VAR.match("sk-${OPENAI_KEY}")
    located = {"a": [{"b": 1}]}
    copy = plain(located)
    assert copy == located and copy["a"] is not located["a"]
