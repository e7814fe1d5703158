"""Replicas, the first resource kind (see ``reconciler.kinds``).

Identity: the name inside the scope, or a pinned ``replica_id``. Diff: training inputs (URLs, consent,
callback, properties) are create-time inputs and never compared; a failed training, a changed ``model_name``
(compared only when declared: undeclared means the server's default) or ``--replace`` forces a replace,
carried out blue/green (``reconciler.engine.successor``); a pinned replica whose name differs is renamed in place
(Tavus's only in-place update of a replica). Pure except the API calls, which go through the one client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence

from reconciler.engine.status import Phase
from reconciler.engine.successor import MARK
from reconciler.kinds import Vocabulary
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica

PREVIEW_STATUS = "preview (watermarked; fine-tune running)"  # how a waiter's row in Phase.PREVIEW shows its status

# the one table of the replica kind's API names (issue 25): the legacy ones, which this project speaks, and the
# newer "face" names Tavus documents (the legacy ones remain aliases). Switching is ``REPLICAS.api = FACES``.
LEGACY = Vocabulary("/v2/replicas", "replica_id", "replica_name", "replica_type", "replica_ids")
FACES = Vocabulary("/v2/faces", "face_id", "face_name", "face_type", "face_ids")


class Replicas:
    key = "replicas"
    noun = "replica"
    legacy_path = True  # still planned/applied by its kind-specific path (planner.py/executor.py), not objects.py
    references = ()  # a replica references no other kind
    legacy = LEGACY  # the names the models speak internally
    api = LEGACY  # the names spoken on the wire

    @property
    def id_field(self) -> str:
        return self.api.id_field

    @property
    def name_field(self) -> str:
        return self.api.name_field

    # what this kind adds to the engine's Config and Plan (reconciler.engine.models), with defaults
    # (manages_replicas False: the file has no replicas: section, so they are never listed, never pruned; the plan's
    # RemoteReplica rows: declared and training, declared and ready, in scope but undeclared and not pruned,
    # listed under `removed:`: released, kept on the account)
    config_fields = {"replicas": (), "manages_replicas": True}
    plan_fields = {"pending": (), "ready": (), "unmanaged": (), "forgotten": ()}

    create_only = ("train_video_url", "train_image_url", "voice_name", "consent_video_url", "callback_url",
                   "properties")
    replace_on = ("model_name",)

    @staticmethod
    def remote_id(remote: RemoteReplica) -> str:
        return remote.replica_id

    @staticmethod
    def remote_name(remote: RemoteReplica) -> str:
        return remote.name

    @staticmethod
    def _managed(config, listing: Sequence[RemoteReplica]) -> list[RemoteReplica]:
        """The user replicas of ``listing`` the file manages: in its scope, or pinned by it."""
        pinned = {d.replica_id for d in config.replicas if d.replica_id}
        return [r for r in listing
                if r.replica_type != "system" and (config.settings.in_scope(r.name) or r.replica_id in pinned)]

    def fingerprint_items(self, config, listing: Sequence[RemoteReplica]) -> list:
        """What a saved plan's decisions depend on: the managed replicas' ids, names, models and whether they
        failed (never the training progress)."""
        return sorted((r.replica_id, r.name, r.model_name or "", r.phase is Phase.FAILED)
                      for r in self._managed(config, listing))

    def mass_count(self, config, listing: Sequence[RemoteReplica]) -> int:
        """The replicas the file manages, a replace's marked successor not one."""
        return sum(1 for r in self._managed(config, listing) if MARK not in r.name)

    @staticmethod
    def input_entries(config) -> list:
        """Every declared replica, ``${VAR}``s resolved (hashed into a saved plan, never saved)."""
        return [{k: v for k, v in dataclasses.asdict(d).items() if k != "line"} for d in config.replicas]

    def identity(self, desired: DesiredReplica) -> tuple[str, str]:
        return ("id", desired.replica_id) if desired.replica_id else ("name", desired.name)

    def desired_attributes(self, desired: DesiredReplica) -> dict[str, object]:
        attrs: dict[str, object] = {"replica_name": desired.name}
        if desired.model_name:  # undeclared: the server's default, not shown as if it were chosen
            attrs["model_name"] = desired.model_name
        attrs.update({k: v for k, v in desired.create_payload().items() if k not in attrs})
        return attrs

    def remote_attributes(self, remote: RemoteReplica) -> dict[str, object]:
        return {"replica_name": remote.name, "model_name": remote.model_name, "status": remote.status}

    def replace_reason(self, desired: DesiredReplica, remote: RemoteReplica,
                       force_replace: Collection[str]) -> str | None:
        if desired.name in force_replace:
            return "replacement requested with --replace"
        if remote.phase is Phase.FAILED:
            detail = f": {remote.failure}" if remote.failure else ""
            return f"training failed{detail}"
        for attr in self.replace_on:  # compared only when declared
            want, have = getattr(desired, attr), getattr(remote, attr)
            if want and have and want != have:
                return f"{attr} changed: forces replacement"
        return None

    @staticmethod
    def phase(remote: RemoteReplica) -> Phase:
        """THE readiness rule (``reconciler.kinds.replicas.readiness.replica_phase``): READY only when
        production-ready; a phoenix-4.5 replica whose ``status`` is done but whose ``finetune_status`` is not
        is PREVIEW."""
        return remote.phase

    def not_ready(self, remote: RemoteReplica) -> str | None:
        """Why ``remote`` cannot serve a conversation yet (None when it is ready), in words for one line."""
        phase = self.phase(remote)
        if phase is Phase.READY:
            return None
        pct = remote.progress_percent
        at = f", {pct:.0f}%" if pct is not None else ""
        if phase is Phase.PREVIEW:
            return (f"replica {remote.replica_id} is a watermarked preview (its fine-tune is still running{at}): "
                    "not ready for production")
        if phase is Phase.FAILED:
            return f"replica {remote.replica_id} failed training: {remote.failure or 'no message'}"
        return f"replica {remote.replica_id} is still training ({remote.status}{at})"

    @staticmethod
    def take(row, remote: RemoteReplica) -> None:
        """A waiter's row takes ``remote``'s state: a preview shows as one, a preview whose fine-tune failed
        as "failed" (not "completed"; error_message says why)."""
        row.status, row.phase = (PREVIEW_STATUS if remote.preview else remote.status), remote.phase
        if remote.phase is Phase.FAILED and remote.finetunes and remote.finetune_status:
            row.status = "failed"
        row.progress = 100.0 if remote.phase is Phase.READY else remote.progress_percent
        row.error_message = remote.failure if remote.phase is Phase.FAILED else remote.error_message

    def in_place_changes(self, desired: DesiredReplica, remote: RemoteReplica) -> Mapping[str, tuple[object, object]]:
        """Only the name, and only of a pinned replica (an unpinned one is found by its name)."""
        if desired.replica_id and remote.name != desired.name:
            return {"replica_name": (remote.name, desired.name)}
        return {}

    def list(self, client, *, ids: Sequence[str] | None = None) -> list[RemoteReplica]:
        return client.list_replicas(ids=ids) if ids is not None else client.list_replicas()

    def get(self, client, object_id: str) -> RemoteReplica:
        return client.get_replica(object_id)

    def create(self, client, desired: DesiredReplica, *, name: str | None = None,
               known_ids: Collection[str] = ()) -> str:
        """POST the replica (under ``name`` when given: a replace's marked successor). Never retried blindly:
        the client settles a lost answer against the account (``known_ids``: what existed before)."""
        payload = desired.create_payload()
        if name is not None:
            payload["replica_name"] = name
        return client.create_replica(payload, known_ids=known_ids)

    def update(self, client, object_id: str, changes: Mapping[str, tuple[object, object]]) -> None:
        unknown = set(changes) - {"replica_name"}
        if unknown:
            raise ValueError(f"replicas cannot be updated in place: {', '.join(sorted(unknown))}")
        if "replica_name" in changes:
            client.rename_replica(object_id, str(changes["replica_name"][1]))

    def rename(self, client, object_id: str, name: str) -> None:
        client.rename_replica(object_id, name)

    def delete(self, client, object_id: str) -> None:
        client.delete_replica(object_id)

    # the planner's hooks (reconciler.engine.kind.WithPlanner): reconciler.kinds.replicas.plan
    replace_by_name = True  # --replace NAME names a declared replica

    def declared_names(self, config) -> set[str]:
        return {d.name for d in config.replicas}

    def listed_names(self, listing: Sequence[RemoteReplica]) -> set[str]:
        from reconciler.kinds.replicas.plan import listed_names

        return listed_names(listing)

    def plan_before(self, draft) -> None:
        from reconciler.kinds.replicas.plan import plan_replicas

        plan_replicas(draft)

    def holds(self, draft) -> Mapping[str, str]:
        return {}  # a replica holds no other object

    def plan_after(self, draft) -> None:
        return None

    # the executor's hooks (reconciler.engine.kind.WithExecutor): reconciler.kinds.replicas.apply
    def work(self, changes, successors: bool):
        from reconciler.kinds.replicas.apply import work

        return work(changes, successors)

    def recheck(self, run, main):
        from reconciler.kinds.replicas.apply import recheck

        return recheck(run, main)

    def step(self, run, change):
        from reconciler.kinds.replicas.apply import step

        return step(run, change)

    def failure(self, change, error):
        return None  # every error of a replica step is its own one line

    def settle(self, run, outcomes) -> None:
        from reconciler.kinds.replicas.apply import settle

        settle(run, outcomes)


REPLICAS = Replicas()
