"""Tools (``/v2/tools``): functions a persona's LLM or perception layer calls; one folder, one kind."""
