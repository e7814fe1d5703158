"""Reading a ``--policy FILE`` (issue 28): YAML with the keys of ``settings.policy`` (or under one ``policy:``
key), checked by the schema of ``settings.policy`` and located in that file; the rules themselves are
``reconciler.engine.policy``'s (pure)."""

from __future__ import annotations

from reconciler.engine.policy import Rule, parse_rules


def load_file(path: str) -> list[Rule]:
    """The rules of a ``--policy FILE`` (YAML with the keys of ``settings.policy``). Raises ConfigError with every
    problem located in that file."""
    import os

    from reconciler.engine.validation import check_policy_document
    from reconciler.engine.yamlpos import Builder, Diagnostics
    from reconciler.errors import ConfigError

    try:
        with open(path, "rb") as f:
            data = f.read(1024 * 1024 + 1)
    except OSError as e:
        raise ConfigError([f"{path}: cannot read the policy file ({e.strerror or type(e).__name__})"]) from None
    if len(data) > 1024 * 1024:
        raise ConfigError([f"{path}: the policy file is too large (over 1 MB)"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: the policy file is not UTF-8 text"]) from None
    diags = Diagnostics(path)
    doc = Builder(text, diags, os.environ).build()
    if doc is None:  # the builder words an empty or non-mapping top level for a replicas file: say it for a policy
        shape = "a policy file is a mapping of rules (the keys of settings.policy), e.g. max_deletes: 3"
        diags.errors = [(line, col, shape if msg.startswith(("the file is empty", "the top level must be")) else msg)
                        for line, col, msg in diags.errors]
        raise ConfigError(diags.render())
    root = doc.root
    if isinstance(root, dict) and set(root) == {"policy"}:  # also accepted: the rules under a `policy:` key
        base: tuple = ("policy",)
        root = root["policy"]
    else:
        base = ()
    check_policy_document(doc, diags, base)
    if diags.errors:
        raise ConfigError(diags.render())
    return parse_rules(root, lambda key: doc.key_at(base + (key,)), path, path)
