"""The renderers' one entry point (a facade): a Plan or a status inventory as JSON, terminal text or Markdown
(for PR comments). Each lives in its own module; this one only names them for the CLI and the workflows.

=========================  =====================================================================
module                     what it renders
=========================  =====================================================================
``views.common``           redaction, escaping, styling, the words the renderers share, view hooks
``views.json_text``        ``json.dumps(indent=2)`` byte for byte, fast; long lists in chunks
``views.plan_document``    the plan document (schemas/plan.schema.json), its JSON, plan failures
``views.plan_text``        the terraform-like plan for a terminal
``views.diff_lines``       a change's attributes and nested diffs, as plan text shows them
``views.plan_markdown``    the plan for a pull-request comment (``views.md``: Markdown pieces)
``views.rollout_text``     a plan's rollout, as text and Markdown
``views.status_view``      ``status`` as a table and as its document
``kinds/<kind>/view.py``   a kind's hooks: ``change_lines``, ``document_fields``, ``plan_rows``
=========================  =====================================================================
"""

from __future__ import annotations

from reconciler.kinds.personas.view import document_fields as _persona_fields
from reconciler.views.common import (
    _MISSING,
    FORMAT_VERSION,
    PREVIEW_WORD,
    WIDTH,
    _json_safe,
    _pending_word,
    _redact_attrs,
    _redact_deep,
    _safe,
    _show_value,
    _style,
    redact_text,
)
from reconciler.views.diff_lines import _attr_diff, _nested_diff_lines
from reconciler.views.json_text import dumps_indented
from reconciler.views.md import _md_code, _md_text
from reconciler.views.plan_document import (
    _object_fields,
    plan_document,
    plan_failure,
    plan_json,
    write_plan_json,
)
from reconciler.views.plan_markdown import plan_markdown
from reconciler.views.plan_text import plan_text
from reconciler.views.rollout_text import rollout_lines, rollout_markdown
from reconciler.views.status_view import status_json, status_text

__all__ = ["FORMAT_VERSION", "PREVIEW_WORD", "WIDTH", "_MISSING", "_attr_diff", "_json_safe", "_md_code",
           "_md_text", "_nested_diff_lines", "_object_fields", "_pending_word", "_persona_fields", "_redact_attrs",
           "_redact_deep", "_safe", "_show_value", "_style", "dumps_indented", "plan_document", "plan_failure",
           "plan_json", "plan_markdown", "plan_text", "redact_text", "rollout_lines", "rollout_markdown",
           "status_json", "status_text", "write_plan_json"]
