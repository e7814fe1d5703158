"""A plan's rollout (issue 19) as plan text and as a PR comment shows it: the settings, the order in nominal
batches with each step's state (``reconciler.views.rollout_view``), and the rule the steps run by."""

from __future__ import annotations

from reconciler.views import rollout_view
from reconciler.views.common import _safe, _style
from reconciler.views.md import _md_code, _md_details, _md_text


def _batches_word(n: int) -> str:
    return f"{n} batch{'' if n == 1 else 'es'}"


def _rollout_rule(rollout) -> list[str]:
    """How the steps run, in two sentences."""
    s = rollout.settings
    verify = f"verify ({s.verify})" if s.verify != "none" else ""
    slots = f"at most {s.max_replacing} training at once"
    halts = (f"A failed training{' or verify' if verify else ''} halts the rollout: nothing new starts, the rest "
             "keep their old replica.")
    if s.canary and len(rollout.steps) > s.canary:
        gate = "train and pass " + verify if verify else "finish training"
        first = "The canary" if s.canary == 1 else f"The {s.canary} canaries"
        return [f"{first} must {gate} before any other starts; then a successor starts as soon as a slot frees, "
                f"in this order ({slots}).", halts]
    each = f"; each passes {verify} before its old replica is deleted" if verify else ""
    return [f"A successor starts as soon as a slot frees, in this order ({slots}){each}.", halts]


def _rollout_batches(rollout, name) -> list[tuple[str, str]]:
    """(batch heading, members) per nominal batch; a state shared by the whole batch goes in the heading."""
    verify = rollout.settings.verify
    out = []
    for batch in rollout.batches:
        labels = {rollout_view.label(st, verify) for st in batch}
        head = f"batch {batch[0].batch}" + (", canary" if batch[0].canary else "")
        if len(labels) == 1:
            out.append((f"{head} ({labels.pop()})", ", ".join(name(st.name) for st in batch)))
        else:
            out.append((head, ", ".join(f"{name(st.name)} ({rollout_view.label(st, verify)})" for st in batch)))
    return out


def _rollout_settings_words(rollout) -> str:
    s = rollout.settings
    return f"max_replacing {s.max_replacing}, canary {s.canary}, verify {s.verify}"


def _single_rollout(rollout, name) -> str:
    """A single replace: one line (settings are validated words, the name goes through ``name``)."""
    st, verify = rollout.steps[0], rollout.settings.verify
    then = f"passes verify ({verify}), then " if verify != "none" else ""
    return (f"1 replacement, {name(st.name)} ({rollout_view.label(st, verify)}): it trains, {then}replaces the "
            "old replica.")


def rollout_lines(rollout, color: bool = False) -> list[str]:
    """The plan's rollout as text: settings, the order in nominal batches with each step's state, the rule.
    One line for a single replace."""
    if len(rollout.steps) == 1:
        return [_style("Rollout:", color, bold=True) + " " + _single_rollout(rollout, _safe)]
    head = (f"Rollout of {len(rollout.steps)} replacements ({_rollout_settings_words(rollout)}), "
            "in this order:")
    lines = [_style(head, color, bold=True)]
    lines += [f"  {h}: {members}" for h, members in _rollout_batches(rollout, _safe)]
    lines += [f"  {sentence}" for sentence in _rollout_rule(rollout)]
    return lines


def rollout_markdown(rollout) -> list[str]:
    """The plan's rollout for a PR comment: one paragraph, and the batches in a collapsed table."""
    if len(rollout.steps) == 1:
        return [f"**Rollout:** {_single_rollout(rollout, lambda n: _md_code(n, cell=False))}", ""]
    out = [f"**Rollout:** {len(rollout.steps)} replacements in {_batches_word(len(rollout.batches))} "
           f"({_rollout_settings_words(rollout)}). {_md_text(' '.join(_rollout_rule(rollout)))}", ""]
    return out + _md_details(f"Rollout order ({len(rollout.steps)})", None, ["Batch", "Replicas"], (
        [_md_text(h), members] for h, members in _rollout_batches(rollout, _md_code)))
