"""JSON Schemas shipped with tavus-reconciler (installed as the package ``reconciler.schemas``)."""
