"""Every exit code the CLI can return, in one place (the README's table says the same).

Workflow outcomes (``reconciler.workflows.workflow``) carry one of these; ``cli.main`` maps exceptions to them.
"""

from __future__ import annotations

OK = 0
ERROR = 1  # bad input, refused plan, API failure, a change that failed
CHANGES = 2  # `plan --detailed-exitcode`: the account differs from the file
FAILED = 3  # a replica failed training (or vanished) while waiting; a replace's successor failed; a rollout halted
TIMEOUT = 4  # `wait`/`apply` timed out with replicas still training
INTERRUPTED = 130  # Ctrl-C (SIGINT)
TERMINATED = 143  # SIGTERM

# The names the modules used before this one existed (kept so callers read the same).
EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_FAILED, EXIT_TIMEOUT = OK, ERROR, CHANGES, FAILED, TIMEOUT
EXIT_INTERRUPTED, EXIT_TERMINATED = INTERRUPTED, TERMINATED
