"""``${VAR}`` interpolation in the replicas file: ``${VAR}``, ``${VAR:-default}`` and ``$${`` for a literal ``${``."""

from __future__ import annotations

import re
from collections.abc import Mapping

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class InterpolationError(ValueError):
    pass


def interpolate(value: str, environ: Mapping[str, str], *,
                used: list[tuple[str, str | None]] | None = None) -> tuple[str, tuple[str, ...]]:
    """Resolve ``${VAR}`` and ``${VAR:-default}`` in ``value``; ``$${`` is a literal ``${``.

    ``used``, when given, receives ``(NAME, value taken from the environment or None)`` for every variable
    referenced: a value that came from the environment is a secret (issue 24), a default written in the file
    is not.

    Returns (resolved text, unset variables). When a variable without a default is unset, the raw text is
    returned unchanged (with ``$${`` kept as written) and the variable is listed. Raises InterpolationError
    for a malformed ``${``.
    """
    if "$" not in value:
        return value, ()
    out: list[str] = []
    missing: list[str] = []
    i, n = 0, len(value)
    while i < n:
        j = value.find("$", i)
        if j < 0:
            out.append(value[i:])
            break
        out.append(value[i:j])
        if value.startswith("$${", j):
            out.append("${")
            i = j + 3
            continue
        if not value.startswith("${", j):
            out.append("$")
            i = j + 1
            continue
        end, name, sep, default = _reference(value, j)
        current = environ.get(name)
        if used is not None:
            used.append((name, current or None))  # an empty value is nothing to hide
        if sep:
            out.append(current if current else default)
        elif current is None:
            missing.append(name)
        else:
            out.append(current)
        i = end + 1
    if missing:
        return value, tuple(sorted(set(missing)))
    return "".join(out), ()



def _reference(value: str, j: int) -> tuple[int, str, str, str]:
    """The ``${...}`` starting at ``j``: (index of its ``}``, NAME, ``":-"`` or ``""``, default); raises
    InterpolationError when it is unterminated, its NAME is not one, or its default nests a ``${``."""
    end = value.find("}", j + 2)
    if end < 0:
        raise InterpolationError("unterminated ${ (write $${ for a literal ${)")
    body = value[j + 2:end]
    name, sep, default = body.partition(":-")
    if not _VAR_NAME.match(name):
        shown = repr("${" + body + "}")
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise InterpolationError(f"invalid variable reference {shown}: expected ${{NAME}} or "
                                  "${NAME:-default} where NAME is letters, digits and _ "
                                  "(write $${ for a literal ${)")
    if "${" in default:
        raise InterpolationError(f"nested ${{...}} in the default of ${{{name}}} is not supported")
    return end, name, sep, default
