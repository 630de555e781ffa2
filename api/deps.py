"""What the routes depend on, and the `Annotated` aliases they declare it with.

`ApiDeps` is built once where the program is wired (`api.server` for production, a test fixture,
the embedded demo) and handed to `api.app.create_app`; routes reach it through `DepsDep`. The
credential dependencies (`ChannelDep`, `DeviceDep`, ...) authenticate the request and check its
role; the security schemes they use put the bearer token and the `X-API-Key` header in OpenAPI.

Every dependency here is `async def` although none awaits anything: FastAPI runs a plain `def`
dependency in its worker-thread pool, and at thousands of ATP reads a second those hops (one
per dependency per request) cost more than the whole read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth import ApiKeys, Principal, Role, credential_of
from api.ledger_reader import LedgerReader
from api.publisher import EventPublisher
from api.refusals import KeptRefusals, RefusalRecorder
from connectors.view_protocol import LiveView
from state.catalog import Catalog

Mode = Literal["development", "production"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one request may ask; exceeding one is a clear 4xx, never a slow 5xx."""

    max_body_bytes: int = 1024 * 1024
    max_batch: int = 1000
    max_page: int = 1000
    order_wait_seconds: float = 2.0
    stream_heartbeat_seconds: float = 15.0
    stream_max_seconds: float = 3600.0  # a stream ends then; clients resume with Last-Event-ID


@dataclass(frozen=True)
class ApiDeps:
    view: LiveView
    ledger: LedgerReader
    publisher: EventPublisher
    catalog: Catalog
    auth: ApiKeys
    mode: Mode = "development"
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], datetime] = utc_now
    # Where refused events are recorded (`api.refusals`); production and the demo use the ledger.
    refusals: RefusalRecorder = field(default_factory=KeptRefusals)


async def get_deps(request: Request) -> ApiDeps:
    deps: ApiDeps = request.app.state.deps
    return deps


DepsDep = Annotated[ApiDeps, Depends(get_deps)]

_bearer = HTTPBearer(
    auto_error=False, description="`Authorization: Bearer <API key>`", scheme_name="bearer"
)
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The API key itself.", scheme_name="apiKey"
)


async def authenticated(
    deps: DepsDep,
    request: Request,
    _bearer_scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """The caller, or 401. Keys never reach a log: only the principal's name does.

    The two security schemes are declared so that OpenAPI documents them; the header itself is
    read by `credential_of`, which accepts the bearer scheme case-insensitively.
    """
    key = credential_of(request.headers.get("Authorization"), api_key)
    principal = None if key is None else deps.auth.identify(key)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API key is required (Authorization: Bearer <key>, or X-API-Key: <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = principal.name
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticated)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency passing callers with one of `roles` (or admin); others get 403."""
    allowed = ", ".join(role.value for role in (*roles, Role.ADMIN))

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.may(roles):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role.value!r} may not do this; it needs one of: {allowed}",
            )
        return principal

    return check


ATP_READERS = (Role.CHANNEL, Role.BUYER, Role.ANALYST)
AtpReaderDep = Annotated[Principal, Depends(require(*ATP_READERS))]
ChannelDep = Annotated[Principal, Depends(require(Role.CHANNEL))]
DeviceDep = Annotated[Principal, Depends(require(Role.DEVICE))]
AnalystDep = Annotated[Principal, Depends(require(Role.ANALYST))]
