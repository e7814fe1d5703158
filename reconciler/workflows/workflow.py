"""The commands' orchestration, without the command line, re-exported from one place (issue 26 split it by
workflow): ``common`` (Console, Outcome, options, listings, the checked plan), ``planning`` (plan),
``applying`` (apply), ``waiting`` (wait), ``reporting`` (status, output), ``adopt`` (export) and
``conversing`` (smoke, converse). The CLI and the tests import from here; new code may import the modules."""

from __future__ import annotations

from reconciler.workflows.adopt import export
from reconciler.workflows.applying import apply, finish_without_waiting, print_report, same_changes
from reconciler.workflows.common import (
    Console,
    Outcome,
    PlanOptions,
    WaitOptions,
    checked_plan,
    inventories,
    inventory,
    make_plan,
    persona_inventory,
    rollout_jitter,
)
from reconciler.workflows.conversing import conversation_url, converse, end_conversation, smoke
from reconciler.workflows.planning import plan
from reconciler.workflows.reporting import output, persona_status_rows, rollout_status, status
from reconciler.workflows.waiting import interval, wait, wait_targets

__all__ = ["Console", "Outcome", "PlanOptions", "WaitOptions", "apply", "checked_plan", "conversation_url",
           "converse", "end_conversation", "export", "finish_without_waiting", "interval", "inventories",
           "inventory", "make_plan", "output", "persona_inventory", "plan", "persona_status_rows", "print_report",
           "rollout_jitter", "rollout_status", "same_changes", "smoke", "status", "wait", "wait_targets"]
