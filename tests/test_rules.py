"""reconciler.engine.rules: a kind's rules.py gets its entries and a context that locates what it reports."""

import sys
import types
from types import SimpleNamespace as NS

from reconciler.engine.rules import RuleContext, load_objects, rules_of


class _Diags:
    def __init__(self):
        self.errors, self.warnings = [], []

    def error(self, pos, message):
        self.errors.append((pos, message))

    def warning(self, pos, message):
        self.warnings.append((pos, message))


class _Doc:
    def __init__(self, root):
        self.root, self.missing = root, {("things", 0, "secret"): ("TOKEN",)}

    def at(self, path):
        return (len(path), 1)


def test_load_objects_calls_parse_and_skips_kinds_without_rules_or_on_the_legacy_path(monkeypatch):
    pkg = types.ModuleType("toykinds_pkg")
    pkg.__path__ = []
    rules = types.ModuleType("toykinds_pkg.rules")

    def parse(entries, ctx):
        ctx.error(("things", 0, "name"), "bad name")
        ctx.warn(("things", 1), "odd")
        assert ctx.declared("things") == {"a", "b"} and ctx.declared("nothing") == set()
        assert ctx.missing_vars(("things", 0, "secret")) == ("TOKEN",)
        return [e["name"] for e in entries]

    rules.parse = parse
    monkeypatch.setitem(sys.modules, "toykinds_pkg", pkg)
    monkeypatch.setitem(sys.modules, "toykinds_pkg.rules", rules)
    bare = types.ModuleType("toykinds_bare")  # a kind package without a rules module
    bare.__path__ = []
    monkeypatch.setitem(sys.modules, "toykinds_bare", bare)
    Thing = type("Thing", (), {"__module__": "toykinds_pkg.kind", "key": "things"})
    Legacy = type("Legacy", (), {"__module__": "toykinds_pkg.kind", "key": "old", "legacy_path": True})
    Bare = type("Bare", (), {"__module__": "toykinds_bare.kind", "key": "bare"})
    diags = _Diags()
    doc = _Doc({"things": [{"name": "a"}, {"name": "b"}], "old": [{"name": "x"}], "bare": [{"name": "y"}]})
    got = load_objects(doc, diags, NS(), [Thing(), Legacy(), Bare()])
    assert got == {"things": ("a", "b")}
    assert diags.errors == [((3, 1), "bad name")] and diags.warnings == [((2, 1), "odd")]
    assert rules_of(Bare()) is None


def test_the_real_kinds_have_a_rules_module_unless_on_their_kind_specific_path():
    from reconciler.engine.rules import rules_of
    from reconciler.kinds import registered

    for k in registered():
        module = rules_of(k)
        assert getattr(k, "legacy_path", False) or callable(getattr(module, "parse", None)), k.key
    assert {k.key for k in registered() if getattr(k, "legacy_path", False)} == {"replicas", "personas"}
    assert isinstance(RuleContext(_Doc({}), _Diags(), None, {}).declared("x"), set)
