"""tavus-reconciler: manage Tavus replicas and personas as code."""

from pathlib import Path as _Path

__version__ = "0.2.0"

# Run from a checkout without an editable install (`python -m reconciler` in the repository's root, with
# the tool installed from the wheel elsewhere), this folder is found first and has no schemas/ or examples/:
# they are at the repository's root, where the wheel puts them inside reconciler (pyproject's package-dir).
_root = _Path(__file__).resolve().parent.parent
if not (_Path(__file__).parent / "schemas").is_dir() and (_root / "schemas" / "plan.schema.json").is_file():
    __path__.append(str(_root))  # noqa: F821 - a package's own __path__
