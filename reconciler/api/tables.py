"""The two collections the client serves by name (replicas, personas), read from their kinds' one table."""

from __future__ import annotations

from operator import attrgetter

from reconciler.api.listing import TableKind
from reconciler.kinds.personas.kind import PERSONAS
from reconciler.kinds.personas.models import RemotePersona
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.models import RemoteReplica

_REPLICAS = TableKind(REPLICAS, RemoteReplica.from_api, attrgetter("replica_id"))
_PERSONAS = TableKind(PERSONAS, RemotePersona.from_api, attrgetter("persona_id"))
