"""The semantic rules of ``replicas:`` (and the ``defaults:`` they inherit), one per function, run for every
entry; builds DesiredReplica. Called by the loader (``reconciler.engine.validation.Semantics``) with its state
(the document, the diagnostics, the once-per-file warnings)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.api.redact import CONTROL_CHARS
from reconciler.engine.checks import invisible_in, plain, show_url, url_problem
from reconciler.engine.models import Settings
from reconciler.engine.yamlpos import Pos, short
from reconciler.kinds.replicas.models import MODELS, PROPERTIES, DesiredReplica

if TYPE_CHECKING:
    from reconciler.engine.validation import Semantics

REPLICA_FIELDS = ("name", "replica_id", "train_video_url", "train_image_url", "voice_name", "consent_video_url",
                  "callback_url", "synthetic", "model_name", "protect", "consent_in_training_video", "properties")
DEFAULT_FIELDS = tuple(f for f in REPLICA_FIELDS if f not in ("name", "replica_id"))
URL_FIELDS = ("train_video_url", "train_image_url", "consent_video_url", "callback_url")
TRAINING_FIELDS = ("train_video_url", "train_image_url")
IDENTITY_FIELDS = ("name", "replica_id")


def _kind_keys() -> tuple[str, ...]:
    """Every registered kind's section (a file declares any subset of them, at least one)."""
    from reconciler.kinds import registered

    return tuple(k.key for k in registered())


def _declares_a_kind(root: dict) -> bool:
    from reconciler.kinds import registered

    return any(k.key in root for k in registered())


class ReplicaRules:
    """The semantic rules of ``replicas:``, one per function, run for every entry; builds DesiredReplica."""

    def __init__(self, sem: Semantics):
        self.sem = sem
        self.doc = sem.doc
        self.diags = sem.diags

    def run(self, root: dict, settings: Settings) -> tuple[tuple, dict[str, int], dict[str, int]] | None:
        """(replicas, name -> line, replica_id -> line); None when ``replicas:`` is not a list."""
        defaults = root.get("defaults") if isinstance(root.get("defaults"), dict) else {}
        defaults = {k: v for k, v in defaults.items() if k in DEFAULT_FIELDS}
        self._default_warnings(defaults)
        replicas = root.get("replicas", [])  # a file may declare any subset of the kinds (issue 27)...
        if not isinstance(replicas, list):
            return None
        if not _declares_a_kind(root):  # ...but at least one
            keys = ", ".join(_kind_keys())
            self.diags.error((1, 1), f"nothing to manage: declare at least one of {keys}")
            return None
        names: dict[str, int] = {}
        ids: dict[str, int] = {}
        out: list[DesiredReplica] = []
        for i, entry in enumerate(replicas):
            if not isinstance(entry, dict):
                continue
            d = self._entry(i, entry, defaults, settings, names, ids)
            if d is not None:
                out.append(d)
        return tuple(out), names, ids

    def _default_warnings(self, defaults: dict) -> None:
        for key in defaults:
            path = ("defaults", key)
            for var in self.doc.missing.get(path, ()):
                self.diags.warning(self.doc.at(path), f"${{{var}}} is not set (needed only when a replica "
                                                      f"that inherits defaults.{key} is created)")

    def _merged(self, entry: dict, defaults: dict) -> tuple[dict, dict[str, tuple]]:
        """The entry with defaults filled in, and where each field came from."""
        merged: dict = {}
        source: dict[str, tuple] = {}
        own_training = any(f in entry for f in TRAINING_FIELDS)
        for key, value in defaults.items():
            if own_training and key in TRAINING_FIELDS:
                continue  # the training source is one unit: the entry's own wins as a whole
            merged[key] = value
            source[key] = ("defaults", key)
        for key, value in entry.items():
            merged[key] = value
            source[key] = ()
        if "voice_name" in merged and source["voice_name"] and "train_image_url" not in merged:
            del merged["voice_name"]  # a default voice applies only to replicas trained from an image
        return merged, source

    def _entry(self, i: int, entry: dict, defaults: dict, settings: Settings,
               names: dict[str, int], ids: dict[str, int]) -> DesiredReplica | None:
        """Check one replica entry against every semantic rule and build it (None when its name is not text)."""
        name = entry.get("name")
        if not isinstance(name, str):
            return None  # the schema reported it
        merged, source = self._merged(entry, defaults)
        e = _Entry(i, entry, merged, source, self.doc.at(("replicas", i)))
        label = self._rule_name(e, name, settings, names)
        replica_id = self._rule_replica_id(e, label, ids)
        self._rule_training_source(e, label)
        self._rule_consent(e, label)
        missing = self._rule_vars_and_urls(e, label)
        self._rule_model(e, label)
        merged = e.merged

        def text(key: str) -> str | None:
            v = merged.get(key)
            return v if isinstance(v, str) else None

        model = merged.get("model_name")
        props = merged.get("properties")
        properties = tuple(sorted((k, plain(v)) for k, v in props.items()
                                  if k not in PROPERTIES or isinstance(v, bool))) if isinstance(props, dict) else ()
        self._rule_properties(e)
        return DesiredReplica(
            name=name,
            replica_id=replica_id if isinstance(replica_id, str) else None,
            train_video_url=text("train_video_url"),
            train_image_url=text("train_image_url"),
            voice_name=text("voice_name"),
            consent_video_url=text("consent_video_url"),
            synthetic=merged.get("synthetic") is True,
            model_name=model if isinstance(model, str) else None,
            callback_url=text("callback_url") or None,
            protect=merged.get("protect") is True,
            missing_vars=tuple(sorted(missing)),
            line=e.start[0],
            consent_in_training_video=merged.get("consent_in_training_video") is True,
            properties=properties,
        )

    # ----------------------------------------------------------------- the semantic rules, one per function

    def _rule_name(self, e: _Entry, name: str, settings: Settings, names: dict[str, int]) -> str:
        """The name is plain text (no unset ${VAR}, control or invisible character), declared once, in scope.
        Returns the label to name the entry with in later messages."""
        doc, diags, i = self.doc, self.diags, e.i
        npath = e.base + ("name",)
        label = name
        name_ok = True
        if npath in doc.missing:
            self.sem._unset_identity(npath, f"replicas[{i}].name")
            label, name_ok = f"replicas[{i}]", False
        elif CONTROL_CHARS.search(name):
            diags.error(doc.at(npath), f"replicas[{i}]: name must not contain control characters")
            name_ok = False
        elif not (name.isascii() and name.isprintable()) and (bad := invisible_in(name)) is not None:  # (ASCII
            # that prints has no invisible character: 2,000 names scanned a character at a time took 0.1 s)
            diags.error(doc.at(npath), f"replicas[{i}]: name contains the invisible character {bad}: "
                                       "remove it (it makes the name look like another one)")
            name_ok = False
            label = f"replicas[{i}]"
        if name_ok and name.strip() and name == name.strip():
            if name in names:
                diags.error(doc.at(npath), f"duplicate name {short(name)} (first declared at line {names[name]})")
            else:
                names[name] = e.start[0]
                self.sem._lookalike_warnings(name, doc.at(npath))
            if settings.name_prefix and not name.startswith(settings.name_prefix):
                diags.error(doc.at(npath),
                            f"{name}: the name is outside this file's scope: it must start with "
                            f"{settings.name_prefix!r} (settings.scope.name_prefix)")
        return label

    def _rule_replica_id(self, e: _Entry, label: str, ids: dict[str, int]) -> Any:
        """An adopted replica_id is known (no unset ${VAR}) and declared once. Returns the raw value."""
        doc = self.doc
        rpath = e.base + ("replica_id",)
        replica_id = e.entry.get("replica_id")
        if rpath in doc.missing:
            self.sem._unset_identity(rpath, f"{label}: replica_id")
        elif isinstance(replica_id, str) and replica_id:
            if replica_id in ids:
                self.diags.error(doc.at(rpath),
                                 f"{label}: replica_id {replica_id} is already used at line {ids[replica_id]}")
            else:
                ids[replica_id] = e.start[0]
        return replica_id

    def _rule_training_source(self, e: _Entry, label: str) -> None:
        """Exactly one training source: train_video_url, or train_image_url + voice_name (unless adopted)."""
        merged, diags, start = e.merged, self.diags, e.start
        has_video, has_image, has_voice = (merged.get(f) is not None for f in
                                           ("train_video_url", "train_image_url", "voice_name"))
        if has_video and (has_image or has_voice):
            diags.error(start, f"{label}: declare either train_video_url or train_image_url + voice_name, not both")
        elif has_voice and not has_image:
            diags.error(start, f"{label}: voice_name needs train_image_url (a replica trained from an image "
                               "uses a stock voice); for a video use train_video_url alone")
        elif has_image and not has_voice:
            diags.error(start, f"{label}: train_image_url needs voice_name (the stock voice of a replica trained "
                               "from an image)")
        elif not e.adopted and not has_video and not has_image and not e.unknown:
            diags.error(start, f"{label}: no training source: set train_video_url, or train_image_url + "
                               "voice_name (or replica_id to adopt an existing replica)")

    def _rule_consent(self, e: _Entry, label: str) -> None:
        """A human replica has consent: a consent video, or the statement in its training video (not both)."""
        merged, diags, start = e.merged, self.diags, e.start
        synthetic = merged.get("synthetic") is True
        in_video = merged.get("consent_in_training_video") is True
        if in_video and "consent_video_url" in e.entry:
            diags.error(start, f"{label}: declare either consent_video_url or consent_in_training_video: true, "
                               "not both")
        if not e.adopted and not synthetic and not in_video and merged.get("consent_video_url") is None \
                and not e.unknown:
            diags.error(start, f"{label}: consent_video_url is required for a human replica (or set synthetic: "
                               "true); when the training video opens with the consent statement, set "
                               "consent_in_training_video: true instead")

    def _rule_vars_and_urls(self, e: _Entry, label: str) -> set[str]:
        """Unset ${VAR}s are warned about (they matter only at create); each URL is a usable http(s) URL.
        Returns the unset variables the entry needs."""
        doc, diags = self.doc, self.diags
        missing: set[str] = set()
        for key in e.merged:
            if key in IDENTITY_FIELDS:
                continue
            p = e.path(key)
            unset = doc.missing.get(p, ())
            if unset:
                missing.update(unset)
                if not e.source.get(key):
                    for var in unset:
                        diags.warning(doc.at(p), f"${{{var}}} is not set (needed only when {label} is created)")
                continue
            value = e.merged[key]
            if key in URL_FIELDS and isinstance(value, str) and p not in doc.skip:
                if value == "":
                    if key != "callback_url":
                        diags.error(doc.at(p), f"{label}: {key} is empty")
                    continue
                problem = url_problem(value)
                if problem:
                    diags.error(doc.at(p), f"{label}: {key} {problem} (got {show_url(value)})")
        return missing

    def _rule_model(self, e: _Entry, label: str) -> None:
        """A model this version does not know is sent as is, with a warning."""
        doc = self.doc
        model = e.merged.get("model_name")
        mpath = e.path("model_name")
        if isinstance(model, str) and model not in MODELS and mpath not in doc.skip and mpath not in doc.missing:
            self.diags.warning(doc.at(mpath), f"{label}: model_name {short(model)} is not one this "
                                              f"version knows ({', '.join(MODELS)}); it is sent as is")


    def _rule_properties(self, e: _Entry) -> None:
        """A ``properties`` key the API does not document is sent as written, with ONE warning naming it (the
        first place it is written; not again for every replica that has or inherits it)."""
        props = e.merged.get("properties")
        if not isinstance(props, dict):
            return
        path = e.path("properties")
        for key in props:
            if key not in PROPERTIES:
                self.sem.warn_once(f"properties.{key}", self.doc.key_at(path + (key,)),
                               f"properties: {short(key)} is not a create-time property the API documents "
                               f"({', '.join(PROPERTIES)}); it is sent as written")


class _Entry:
    """One replica entry under validation: as written, with defaults merged, and where each field came from."""

    __slots__ = ("i", "entry", "merged", "source", "start", "base", "adopted", "unknown")

    def __init__(self, i: int, entry: dict, merged: dict, source: dict[str, tuple], start: Pos):
        self.i = i
        self.entry = entry
        self.merged = merged
        self.source = source
        self.start = start
        self.base = ("replicas", i)
        self.adopted = "replica_id" in entry
        # a misspelt field is reported as unknown: do not also report the field it was meant to be as missing
        self.unknown = any(k not in REPLICA_FIELDS for k in entry)

    def path(self, key: str) -> tuple:
        """Where ``key``'s value is written: in the entry, or under defaults:."""
        return self.source.get(key) or self.base + (key,)



POLICY_RULES = ("allowed_models", "require_consent_video")  # the offline policy rules this kind checks


def check_policy(rule, located) -> list:
    from reconciler.kinds.replicas.policy import check

    return check(rule, located)


def located(doc: Any, root: dict, where) -> tuple:
    """What the offline policy rules look at in ``replicas:``, with positions (reconciler.engine.policy.Located)."""
    defaults = root.get("defaults") if isinstance(root.get("defaults"), dict) else {}
    replicas = []
    for i, e in enumerate(root.get("replicas") or ()):
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            continue

        def field(key: str, e=e, i=i):
            if key in e:
                return e[key], ("replicas", i, key)
            return defaults.get(key), ("defaults", key) if key in defaults else ("replicas", i)

        model, mpath = field("model_name")
        replicas.append((e["name"], model if isinstance(model, str) else None, where(mpath),
                         field("synthetic")[0] is True, isinstance(field("consent_video_url")[0], str),
                         field("consent_in_training_video")[0] is True, "replica_id" in e, where(("replicas", i))))
    return tuple(replicas)


# ----------------------------------------------------------------------------------------- the loader's hooks
# (reconciler.engine.validation asks every kind's rules module for these; a kind without one gets the generic)

LABEL_BY_NAME = True  # a message names an entry by its name: ``acme-anna: model_name``, not ``replicas[3]``
VALIDATE_ENTRIES_APART = True  # thousands of entries: each entry shape validated once (the schema's ``items``)
ENTRY_CHECKS = True  # training source and consent (the entry's oneOf/if/then/allOf): worded by the rules below
FILE_HINTS = {"example": "replicas: [...]",  # the words of the messages that show what a file looks like
              "alias": "write the value out (use defaults: for fields that replicas share)"}
IDENTITY_KEYS = frozenset({"replica_id"})  # a value from ${VAR} here is an identity, shown everywhere: no secret
PATTERN_WORDING = {
    "model_name": "{label} must be a phoenix model such as phoenix-4, not {value}",
    "replica_id": "{label} {value} is not a replica id (letters, digits, _ and - only)",
}


def unknown_field(path: tuple, key: str) -> str | None:
    """The words for an unknown field that the generic did-you-mean would get wrong."""
    if key == "<<":
        return "YAML merge keys (<<) are not supported: use defaults: for fields that replicas share"
    if path == ("defaults",) and key in IDENTITY_FIELDS:
        return f"unknown field {short(key)}: defaults cannot set {key} (it is per replica)"
    return None


def any_of_wording(error: Any, label: str, path: tuple) -> str | None:
    """A ``removed:`` item that is none of its three forms."""
    if path[:1] == ("removed",) and len(path) == 2:
        return (f"removed[{path[1]}] must be a replica name, {{name: NAME}} or {{replica_id: ID}}, "
                f"not {short(error.instance)}")
    return None


def load(sem: Semantics, root: dict, settings: Settings, shared: dict) -> dict | None:
    """``replicas:`` and ``removed:`` as the Config's fields; None when nothing more can be checked. Leaves
    the declared names and the removed ones in ``shared`` (a persona's default_replica names a replica)."""
    declared = ReplicaRules(sem).run(root, settings)
    if declared is None:
        return None
    out, names, ids = declared
    removed_names, removed_ids = _removed(sem, root.get("removed"), names, ids)
    shared["replica_names"], shared["removed_names"] = names, removed_names
    return {"replicas": out, "manages_replicas": "replicas" in root, "removed_names": removed_names,
            "removed_ids": removed_ids}


def _removed(sem: Semantics, raw: Any, names: dict[str, int], ids: dict[str, int]) -> tuple[tuple, tuple]:
    """``removed:`` (forget without deleting): names, or {name:} / {replica_id:} items. A replica cannot be
    both declared and removed, nor removed twice."""
    if not isinstance(raw, list):
        return (), ()
    doc = sem.doc
    out: dict[str, list[str]] = {"name": [], "replica_id": []}
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(raw):
        if isinstance(item, str):
            key, value, path = "name", item, ("removed", i)
        elif isinstance(item, dict) and len(item) == 1:
            ((key, value),) = item.items()
            path = ("removed", i, key)
        else:
            continue  # the schema reported it
        if key not in out or not isinstance(value, str) or not value or path in doc.missing:
            if path in doc.missing:
                sem._unset_identity(path, f"removed[{i}]")
            continue
        where = doc.at(path)
        declared = (names if key == "name" else ids).get(value)
        if declared is not None:
            sem.diags.error(where, f"removed[{i}]: {value} is also declared under replicas: (line "
                                   f"{declared}): remove it from one of the two lists")
        elif (key, value) in seen:
            sem.diags.error(where, f"removed[{i}]: {value} is already listed at line {seen[key, value]}")
        else:
            seen[key, value] = where[0]
            out[key].append(value)
    return tuple(out["name"]), tuple(out["replica_id"])
