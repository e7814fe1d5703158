"""``smoke`` and ``converse``: a test-mode conversation per persona, and a real one, by declared name."""

from __future__ import annotations

from collections.abc import Callable, Collection

from reconciler.engine.models import Config
from reconciler.exitcodes import ERROR, OK
from reconciler.workflows.common import Console, Outcome, inventory


def smoke(config: Config, client, console: Console, *, targets: Collection[str] = ()) -> Outcome:
    """For each declared persona (or ``targets``): a ``test_mode`` conversation (created already ended, never
    joined, free per the docs) proves the API accepts the persona with its replica. One line per persona;
    exit 1 when any is rejected or does not exist."""
    from reconciler.api.redact import escape_control, redact_text
    from reconciler.errors import ReconcilerError, UsageError
    from reconciler.kinds.personas.resolve import match_personas

    chosen = [d for d in config.personas if not targets or d.name in targets]
    unknown = sorted(set(targets) - {d.name for d in config.personas})
    if unknown:
        raise UsageError(f"--target {', '.join(unknown)}: no persona of that name is declared in {config.path}")
    if not chosen:
        raise UsageError(f"{config.path} declares no personas: nothing to check")
    matched = match_personas(config, client.list_personas())
    failed = 0
    unready = _unready_replicas(client, [p.default_replica_id for d in chosen
                                         for p in matched.get(d.name, ())[:1] if p.default_replica_id])
    from reconciler.kinds.personas.wiring import attachments  # issue 27: everything each persona is wired to

    wired = attachments(client, [p.document for d in chosen for p in matched.get(d.name, ())[:1]])
    for d in chosen:
        found = matched.get(d.name, ())
        if len(found) != 1:
            failed += 1
            why = "not created yet (run apply)" if not found else \
                f"ambiguous ({', '.join(p.persona_id for p in found)})"
            console.out(escape_control(f"  FAILED {d.name}: {why}"))
            continue
        p = found[0]
        problems, attached = wired(p.document)
        if problems:
            failed += 1
            console.out(escape_control(redact_text(f"  FAILED {d.name} ({p.persona_id}): {'; '.join(problems)}")
                                       or ""))
            continue
        if p.default_replica_id in unready:  # a preview would be accepted, but it is watermarked (issue 25)
            failed += 1
            console.out(escape_control(f"  FAILED {d.name} ({p.persona_id}): {unready[p.default_replica_id]}"))
            continue
        try:
            conv = client.create_conversation(persona_id=p.persona_id, test_mode=True,
                                              name=f"tavus-reconciler smoke {d.name}")
            notes = conv.notes() if hasattr(conv, "notes") else ""
            with_ = f", with {attached}" if attached else ""
            console.out(escape_control(f"  ok     {d.name} ({p.persona_id}, replica {p.default_replica_id or '-'}"
                                       f"{with_}): accepted (test conversation {conv.conversation_id})"))
            if notes:  # issue 24: a conversation this check left behind, or may have, is never silent
                console.err(escape_control(redact_text(f"warning: {d.name}: {notes}") or ""))
        except ReconcilerError as e:
            failed += 1
            console.out(escape_control(redact_text(f"  FAILED {d.name} ({p.persona_id}): rejected: {e}") or ""))
    if failed:
        console.err(f"error: {failed} of {len(chosen)} persona(s) failed the smoke test")
        return Outcome(ERROR)
    console.out(f"All {len(chosen)} persona(s) accepted.")
    return Outcome(OK)


def _unready_replicas(client, replica_ids: Collection[str]) -> dict[str, str]:
    """replica_id -> why it is not ready for a conversation, for the replicas among ``replica_ids`` that are
    still training, a watermarked preview (issue 25) or failed. One listing (ids filter); ids it does not
    return are left to the API to judge (a stock replica, one just deleted)."""
    from reconciler.kinds.replicas.kind import REPLICAS

    ids = sorted(set(replica_ids))
    return {r.replica_id: REPLICAS.not_ready(r) for r in (REPLICAS.list(client, ids=ids) if ids else ())
            if REPLICAS.not_ready(r)}


def converse(config: Config, client, console: Console, *, name: str,
             confirm: Callable[[str], bool] | None = None) -> Outcome:
    """Start a REAL conversation with a declared persona (its default replica) or replica, by declared name, and
    print its conversation_url (step 3 of the Tavus training guide). A persona wins when both share the name.
    Never retried on a lost answer (a second live conversation would be joined and billed)."""
    from reconciler.errors import UsageError
    from reconciler.kinds.personas.resolve import match_personas
    from reconciler.kinds.replicas.resolve import Found, resolve

    persona_id = replica_id = uses = None
    if any(d.name == name for d in config.personas):
        found = match_personas(config, client.list_personas()).get(name, ())
        if len(found) != 1:
            raise UsageError(f"persona {name}: {'not created yet (run apply)' if not found else 'ambiguous'}")
        persona_id, uses = found[0].persona_id, found[0].default_replica_id
    elif name in {d.name for d in config.replicas}:
        res = resolve(config, inventory(client, config))[name]
        if res.found is not Found.ONE:
            raise UsageError(f"replica {name}: {'not created yet (run apply)' if not res.matches else 'ambiguous'}")
        replica_id = res.matches[0].replica_id
    else:
        raise UsageError(f"{name}: no persona or replica of that name is declared in {config.path}")
    unready = _unready_replicas(client, [i for i in (replica_id or uses,) if i])
    if unready:
        raise UsageError(f"{name}: {next(iter(unready.values()))}; run `tavus-reconciler wait {config.path}` first")
    if confirm is not None and not confirm(name):
        console.err("Cancelled; no conversation was started.")
        return Outcome(ERROR)
    conv = client.create_conversation(persona_id=persona_id, replica_id=replica_id,
                                      name=f"tavus-reconciler {name}")
    console.err(f"Started conversation {conv.conversation_id} with {name} (status {conv.status or 'unknown'}); "
                f"it runs (and is billed) until it ends: `tavus-reconciler converse --end {conv.conversation_id}`")
    url = conversation_url(conv.conversation_url)
    if url is None:
        console.err("error: the API's answer has no usable conversation_url (not an http(s) URL)")
        return Outcome(ERROR)
    console.out(url)
    return Outcome(OK)


def conversation_url(url: str | None) -> str | None:
    """The conversation_url the server sent, safe to print raw (it is the one output meant to be opened, so
    its query is kept): control, bidi and invisible characters removed, an echoed API key masked; None when
    what is left is not an http(s) URL."""
    import re

    from reconciler.api.redact import CONTROL_CHARS, INVISIBLE_CHARS, has_secret, redact_text

    url = INVISIBLE_CHARS.sub("", CONTROL_CHARS.sub("", url or "")).strip()
    if has_secret(url):
        url = redact_text(url) or ""
    return url if re.fullmatch(r"https?://[^\s\"'<>`]+", url) else None


def end_conversation(client, console: Console, conversation_id: str) -> Outcome:
    """``converse --end ID``: the documented POST /v2/conversations/{id}/end (billing stops)."""
    from reconciler.api.redact import escape_control

    client.end_conversation(conversation_id)
    console.out(escape_control(f"Ended conversation {conversation_id}."))
    return Outcome(OK)
