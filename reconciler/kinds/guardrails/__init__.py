"""kinds/guardrails: individual guardrails (/v2/guardrails; never the legacy sets)."""
