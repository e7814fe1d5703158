"""Option types and the options several commands share (durations, counts, --target, --policy, ...)."""

from __future__ import annotations

import re

import click

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def parse_duration(text: str) -> float:
    """``90`` and ``90s`` are seconds; ``10m``, ``6h``, ``1h30m`` and ``0.5s`` work too."""
    m = _DURATION.match(text or "")
    if not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration (examples: 90, 45s, 10m, 6h)")
    h, mins, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mins * 60 + s


MAX_DURATION = 366 * 24 * 3600.0  # a year: longer is a typo (and overflows clocks and sleeps)


class Duration(click.ParamType):
    name = "DURATION"

    def __init__(self, minimum: float = 0.0, maximum: float = MAX_DURATION):
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value, param, ctx):
        try:
            seconds = float(value) if isinstance(value, float | int) else parse_duration(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)
        if seconds < self.minimum:
            self.fail(f"{value!r} is too short (at least {self.minimum:g}s)", param, ctx)
        if not seconds <= self.maximum:  # also inf and nan
            self.fail(f"{str(value)[:40]!r} is too long (at most {self.maximum / 86400:g} days)", param, ctx)
        return seconds


DURATION = Duration()
POLL_INTERVAL = Duration(minimum=0.1)  # a zero interval would hammer the API

policy_option = click.option("--policy", "policy_file", metavar="FILE", envvar="TAVUS_POLICY_FILE",
                             type=click.Path(dir_okay=False),
                             help="Also enforce the rules of this policy file (the keys of settings.policy); per "
                                  "rule the stricter wins (env: TAVUS_POLICY_FILE).")
allow_mass_change_option = click.option(
    "--allow-mass-change", is_flag=True,
    help="Let a plan delete or replace more than settings.mass_change.max_percent (default 30%) of the managed "
         "replicas or personas (a saved plan records it).")
target_option = click.option("--target", "targets", multiple=True, metavar="NAME",
                             help="Limit the run to this replica or persona (repeatable; an unknown name is an "
                                  "error).")
replace_option = click.option("--replace", "replace", multiple=True, metavar="NAME",
                              help="Recreate (retrain) this declared replica (repeatable).")
prune_option = click.option("--prune", is_flag=True,
                            help="Delete in-scope replicas the file does not declare (like settings.prune).")
resend_option = click.option("--resend", "resend", multiple=True, metavar="PERSONA",
                             help="Also send this declared persona's attributes the API does not return (so they "
                                  "cannot be compared: masked api_keys, fields it omits), as declared (repeatable).")
discard_drafts_option = click.option(
    "--discard-editor-drafts", "discard_drafts", multiple=True, metavar="PERSONA",
    help="Update this declared persona even when someone left unpublished changes in the Tavus editor: they are "
         "discarded (?force=true). This run only (or settings.discard_editor_drafts); repeatable.")
file_argument = click.argument("file", type=click.Path(dir_okay=False))
class Count(click.ParamType):
    """A whole number of at least ``minimum``, with an error that says what to write."""

    name = "N"

    def __init__(self, minimum: int, what: str):
        self.minimum = minimum
        self.what = what

    def convert(self, value, param, ctx):
        try:
            number = value if type(value) is int else int(str(value).strip(), 10)
        except ValueError:
            self.fail(f"must be a whole number of at least {self.minimum} ({self.what}), not {str(value)[:40]!r}",
                      param, ctx)
        if number < self.minimum:
            self.fail(f"must be at least {self.minimum} ({self.what}), not {number}", param, ctx)
        return number


max_replacing_option = click.option(
    "--max-replacing", "max_replacing", type=Count(1, "successors training at once"), metavar="N",
    help="Replaces: at most N successors training at once, this run (overrides settings.rollout.max_replacing; "
         "default 2).")
canary_option = click.option(
    "--canary", "canary", type=Count(0, "replaces that must pass before the others start"), metavar="N",
    help="Replaces: the first N must train and pass verify before any other starts, this run (overrides "
         "settings.rollout.canary; default 1; 0: no canary).")

