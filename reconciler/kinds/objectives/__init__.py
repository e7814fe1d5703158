"""kinds/objectives: objectives sets (/v2/objectives)."""
