"""tavus-reconciler: manage Tavus replicas as code."""

__version__ = "0.1.0"
