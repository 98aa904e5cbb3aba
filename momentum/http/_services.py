"""What the HTTP handlers reach: the store, the token codec, the hub and janitor, metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from actors import ActorRef

from ..auth import AuthThrottles, PasswordHasher, Revocations, TokenCodec
from ..cluster import ClusterNode
from ..config import Settings
from ..hub import HubMsg
from ..janitor import JanitorMsg
from ..observability import Metrics
from ..storage import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    codec: TokenCodec
    hasher: PasswordHasher
    hub: ActorRef[HubMsg]
    janitor: ActorRef[JanitorMsg]
    metrics: Metrics
    is_ready: Callable[[], bool]
    #: restarts of each supervised actor since the start (`momentum_actor_restarts_total`)
    restarts: Callable[[], Mapping[str, int]]
    #: the cluster (REDIS_URL), or None: one process is the whole server
    #: how often an account and a client address may try passwords and sign up
    throttles: AuthThrottles
    #: the tokens revoked (logout, password change), checked by every authentication
    revocations: Revocations
    cluster: ClusterNode | None = None
