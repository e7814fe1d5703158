"""reconciler.engine.models: the shared values (the replicas' own models are tests/test_replicas_models.py's)."""

from __future__ import annotations

from reconciler.engine.models import Action, Change, Config, Plan, Settings
from reconciler.kinds.replicas.models import DesiredReplica


def test_scope_and_lookup_by_name():
    assert Settings().in_scope("anything") and Settings(name_prefix="acme-").in_scope("acme-a")
    assert not Settings(name_prefix="acme-").in_scope("other-a")
    a = DesiredReplica(name="acme-a", train_video_url="https://v/a.mp4", synthetic=True)
    assert Config(path="f.yaml", replicas=(a,)).replicas == (a,) and Config("f.yaml").personas == ()


def test_a_plan_summary_shows_update_only_when_there_is_one():
    create = Change(Action.CREATE, "a", "declared")
    assert "update" not in Plan(changes=(create,)).summary
    assert Plan(changes=(create, Change(Action.UPDATE, "p", "drift", kind="personas"))).summary["update"] == 1
    assert Plan(changes=(create,)).has_changes and not Plan().has_changes


def test_the_kinds_own_fields_are_keywords_read_as_attributes_with_their_defaults():
    """Config and Plan name no kind (issue 26): the fields the kinds add (config_fields, plan_fields) are given as
    keywords, read as attributes, defaulted, kept by dataclasses.replace; a typo is an error, as for a field."""
    import dataclasses

    import pytest

    a = DesiredReplica(name="acme-a", train_video_url="https://v/a.mp4", synthetic=True)
    config = Config("f.yaml", replicas=(a,), settings=Settings(name_prefix="acme-"))
    assert config.replicas == (a,) and config.personas == () and config.manages_replicas is True
    again = dataclasses.replace(config, manages_replicas=False)
    assert again.replicas == (a,) and again.manages_replicas is False and again.settings.name_prefix == "acme-"
    assert config == Config("f.yaml", replicas=(a,), settings=Settings(name_prefix="acme-")) != again
    assert Plan().pending == () and dataclasses.replace(Plan(), unmanaged=("x",)).unmanaged == ("x",)
    with pytest.raises(TypeError, match="replicaz"):
        Config("f.yaml", replicaz=(a,))
    with pytest.raises(TypeError, match="one positional"):
        Config("f.yaml", (a,))
    with pytest.raises(TypeError, match="missing required argument 'path'"):
        Config()
    with pytest.raises(AttributeError, match="replicaz"):
        _ = config.replicaz
    with pytest.raises(AttributeError):
        _ = Plan().replicas  # a Config field, not a Plan one
