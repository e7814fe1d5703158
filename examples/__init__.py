"""The example files, shipped inside the package as ``reconciler.examples`` (``tavus-reconciler demo`` uses them)."""
