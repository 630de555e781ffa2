"""Who may call the API: API keys, each bound to one role, sent as a bearer token or `X-API-Key`.

Roles: `device` writes floor events, `channel` reads ATP and places orders, `buyer` reads and
decides reorder proposals, `analyst` reads history, and `admin` passes every check. A request
without a known key gets 401 (with `WWW-Authenticate: Bearer`), one whose key has the wrong role
gets 403.

Keys are kept only as SHA-256 digests and never logged; a principal is named by its role and
the first eight hex digits of its key's digest (`channel:3f2a9c1e`), which is safe to log. In
production (`check_production`) skuflow refuses to start without keys, and refuses keys that are
short or equal to a well-known default; in development `ApiKeys.generate` makes a random key per
role, which `skuflow demo` and `skuflow serve` print at start.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

MIN_PRODUCTION_KEY_LENGTH = 32
# Values people paste from examples; a production key equal to one of them is refused.
KNOWN_DEFAULTS = frozenset(
    {
        "admin",
        "changeme",
        "change-me",
        "default",
        "demo",
        "dev",
        "development",
        "key",
        "password",
        "secret",
        "skuflow",
        "test",
        "token",
        "example-api-key",
        "demo-admin-key",
        "demo-channel-key",
        "demo-device-key",
    }
)


class Role(StrEnum):
    DEVICE = "device"
    CHANNEL = "channel"
    BUYER = "buyer"
    ANALYST = "analyst"
    ADMIN = "admin"


class AuthConfigError(ValueError):
    """The configured keys cannot be used (raised at start, so a bad deployment never serves)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as far as the API knows: a role and a loggable name (never the key)."""

    role: Role
    name: str

    def may(self, roles: Iterable[Role]) -> bool:
        return self.role is Role.ADMIN or self.role in set(roles)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Known keys and their roles; `identify(key)` is the one lookup a request makes."""

    def __init__(self, keys: Mapping[str, Role]) -> None:
        self._by_digest = {_digest(key): role for key, role in keys.items()}
        self._keys = tuple(keys)  # kept for `check_production` only

    @classmethod
    def parse(cls, text: str) -> ApiKeys:
        """Keys from JSON `{"<key>": "<role>", ...}`; raises `AuthConfigError` with the reason."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"SKUFLOW_API_KEYS is not JSON ({exc.msg}); expected {{key: role}}"
            raise AuthConfigError(msg) from None
        if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
            msg = 'SKUFLOW_API_KEYS must be a JSON object {"<key>": "<role>"}'
            raise AuthConfigError(msg)
        roles = {role.value for role in Role}
        bad = sorted(str(role) for role in raw.values() if role not in roles)
        if bad:
            msg = f"SKUFLOW_API_KEYS names unknown roles {bad}; roles are {sorted(roles)}"
            raise AuthConfigError(msg)
        if any(not key for key in raw):
            msg = "SKUFLOW_API_KEYS holds an empty key"
            raise AuthConfigError(msg)
        return cls({key: Role(role) for key, role in raw.items()})

    @classmethod
    def generate(cls, roles: Iterable[Role] = tuple(Role)) -> tuple[ApiKeys, dict[Role, str]]:
        """A fresh random key per role (development): the keys, and each role's key to print."""
        made = {role: f"sk-{role.value}-{secrets.token_urlsafe(24)}" for role in roles}
        return cls({key: role for role, key in made.items()}), made

    def identify(self, key: str) -> Principal | None:
        digest = _digest(key)
        role = self._by_digest.get(digest)
        return None if role is None else Principal(role, f"{role.value}:{digest[:8]}")

    def __len__(self) -> int:
        return len(self._by_digest)

    def check_production(self) -> None:
        """Raise `AuthConfigError` unless every key is fit for production."""
        if not self._keys:
            msg = "production mode needs API keys: set SKUFLOW_API_KEYS to {key: role} JSON"
            raise AuthConfigError(msg)
        how = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        for key in self._keys:
            name = f"the key of digest {_digest(key)[:8]}"
            if key.strip().lower() in KNOWN_DEFAULTS:
                msg = f"{name} is a well-known default value; {how}"
                raise AuthConfigError(msg)
            if len(key) < MIN_PRODUCTION_KEY_LENGTH:
                msg = f"{name} is shorter than {MIN_PRODUCTION_KEY_LENGTH} characters; {how}"
                raise AuthConfigError(msg)


def credential_of(authorization: str | None, api_key: str | None) -> str | None:
    """The key a request presents: `Authorization: Bearer <key>`, else `X-API-Key: <key>`."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    if api_key and api_key.strip():
        return api_key.strip()
    return None
