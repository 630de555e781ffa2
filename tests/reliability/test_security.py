"""Security promises, checked over the whole code rather than a hand list that could drift.

- Role checks on every route: the routes come from the app itself (`iter_route_contexts`), and
  each route's roles from the dependency it declares (`api.deps.require(*roles)` or
  `authenticated`); a route with neither must be one of the few public ones, each with a reason.
- Credentials never logged: every route called with every role's key, and dependencies whose
  connection strings hold a password failing, with every logger at DEBUG.
- SQL only parameterised: no `execute`/`executemany`/`copy`/`SQL()` whose text is built from
  values (f-strings, `+`/`%`, `str.format`); identifiers go through `psycopg.sql.Identifier`.
- Secrets only from settings: no environment read outside `connectors/settings.py`.
"""

from __future__ import annotations

import ast
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.deps import authenticated
from api.ledger_reader import LedgerReader
from api.refusals import LedgerRefusals
from connectors.redis.live_view import RedisLiveView
from connectors.redis.retry import Backoff
from connectors.settings import Settings
from tests.api.conftest import Engine, running_engine

ROOT = Path(__file__).resolve().parents[2]
# Routes anyone may call, and why.
PUBLIC = {
    "/healthz": "liveness for load balancers; says nothing but ok",
    "/openapi.json": "the API's description",
    "/docs": "the API's description",
    "/docs/oauth2-redirect": "part of /docs",
    "/redoc": "the API's description",
    "/": "the dashboard page: the key is pasted in the browser and sent with each call",
    "/dashboard": "the dashboard page",
    "/dashboard/": "the dashboard page",
    "/dashboard/{name}": "the dashboard's static files",
    "/dashboard/vendor/plotly.min.js": "the dashboard's chart library",
}
SAMPLE_PATH = {
    "sku": "RETRO-CLOCK",
    "order_id": "SEC-404",
    "proposal_id": "1",
    "name": "main.js",
}
SAMPLE_QUERY = {"/v1/atp/stream": {"limit": "1", "max_seconds": "0.2"}}
ANY_ROLE = frozenset(Role)


@dataclass(frozen=True)
class Guarded:
    method: str
    path: str
    roles: frozenset[Role] | None  # None: public

    @property
    def url(self) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PATH.get(m[1], "x"), self.path)

    def call(self, client: TestClient, headers: dict[str, str] | None = None) -> Any:
        body = {} if self.method in {"POST", "PUT", "PATCH"} else None
        return client.request(
            self.method,
            self.url,
            json=body,
            params=SAMPLE_QUERY.get(self.path),
            headers=headers or {},
        )


def declared_roles(dependant: Dependant) -> frozenset[Role] | None:
    """The roles a route's dependencies let through (admin is always among them), or None."""
    found: frozenset[Role] | None = None
    for dependency in dependant.dependencies:
        call = dependency.call
        if call is authenticated:
            found = found or ANY_ROLE
        free = getattr(getattr(call, "__code__", None), "co_freevars", ())
        if "roles" in free:  # the `check` that `api.deps.require(*roles)` returns
            cells = dict(zip(free, (c.cell_contents for c in call.__closure__ or ()), strict=True))
            found = frozenset({*cells["roles"], Role.ADMIN})
        inner = declared_roles(dependency)
        if inner is not None and (found is None or inner < found):
            found = inner
    return found


def guarded_routes(app: FastAPI) -> list[Guarded]:
    routes = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        roles = None if dependant is None else declared_roles(dependant)
        for method in sorted((context.methods or set()) - {"HEAD"}):
            routes.append(Guarded(method, str(context.path), roles))
    return routes


@pytest.fixture(scope="module")
def engine(postgres_dsn: str) -> Iterator[Engine]:
    with running_engine(postgres_dsn, "t" + uuid.uuid4().hex[:12]) as started:
        yield started


@pytest.fixture(scope="module")
def routes(engine: Engine) -> list[Guarded]:
    found = guarded_routes(create_app(engine.deps()))
    assert len(found) > 20, "the app's routes were not found"
    return found


def test_only_the_listed_routes_are_public(routes: list[Guarded]) -> None:
    public = {route.path for route in routes if route.roles is None}
    assert public == set(PUBLIC), "a route without a role check: declare one, or list it here"


def test_every_guarded_route_refuses_a_request_without_a_valid_key(
    engine: Engine, routes: list[Guarded]
) -> None:
    guarded = [route for route in routes if route.roles is not None]
    wrong: list[str] = []
    with TestClient(create_app(engine.deps())) as client:
        for route in guarded:
            for headers in ({}, {"X-API-Key": "not-a-key"}, {"Authorization": "Bearer nope"}):
                answer = route.call(client, headers)
                if answer.status_code != 401:
                    wrong.append(f"{route.method} {route.path} {headers}: {answer.status_code}")
    print(f"\n[security] {len(guarded)} guarded routes × 3 keyless requests: all 401")
    assert wrong == []


def test_each_role_reaches_exactly_the_routes_its_declared_dependency_allows(
    engine: Engine, routes: list[Guarded]
) -> None:
    guarded = [route for route in routes if route.roles is not None]
    wrong: list[str] = []
    refused = 0
    with TestClient(create_app(engine.deps())) as client:
        for route in guarded:
            assert route.roles is not None
            for role in Role:
                answer = route.call(client, {"X-API-Key": engine.key_of[role]})
                if role in route.roles:
                    if answer.status_code in (401, 403):
                        wrong.append(f"{route.method} {route.path} as {role}: refused")
                elif answer.status_code != 403:
                    wrong.append(f"{route.method} {route.path} as {role}: {answer.status_code}")
                else:
                    refused += 1
    print(f"[security] {len(guarded)} routes × {len(Role)} roles: {refused} refused with 403")
    assert wrong == []


def test_no_key_password_or_dsn_secret_reaches_the_logs(
    engine: Engine, routes: list[Guarded], caplog: pytest.LogCaptureFixture
) -> None:
    password = "pw-" + uuid.uuid4().hex
    dead_dsn = f"postgresql://skuflow:{password}@127.0.0.1:1/skuflow?connect_timeout=1"
    failing = engine.deps(
        ledger=LedgerReader(dead_dsn, "skuflow", max_size=1, timeout=0.2),
        view=RedisLiveView(
            f"redis://:{password}@127.0.0.1:1/0", backoff=Backoff(attempts=1), socket_timeout=1
        ),
        refusals=LedgerRefusals(dead_dsn, "skuflow"),
    )
    caplog.set_level(logging.DEBUG)
    statuses: set[int] = set()
    with TestClient(create_app(engine.deps())) as client:
        for route in routes:
            for key in engine.key_of.values():
                statuses.add(route.call(client, {"Authorization": f"Bearer {key}"}).status_code)
                statuses.add(route.call(client, {"X-API-Key": key}).status_code)
    admin = engine.key_of[Role.ADMIN]  # reaches every route, so every dependency fails once
    with TestClient(create_app(failing)) as client:
        for route in routes:
            statuses.add(route.call(client, {"Authorization": f"Bearer {admin}"}).status_code)
    secrets = [*engine.key_of.values(), password]
    print(f"[security] {len(caplog.records)} log records, statuses {sorted(statuses)}: no secret")
    assert 503 in statuses, "the failing dependencies were not reached"
    assert len(caplog.records) > 0
    assert [s for s in secrets if s in caplog.text] == []
    shown = repr(Settings(postgres_dsn=dead_dsn, api_keys='{"k": "admin"}'))  # type: ignore[arg-type]
    assert password not in shown


# ---- static checks -----------------------------------------------------------------------

SQL_CALLS = {"execute", "executemany", "copy", "SQL"}
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|SET|COPY|WITH)\b")
# (file, the SQL's first words): why it is safe.
SQL_ALLOWED = {
    ("connectors/services/postgres.py", "CREATE DATABASE"): (
        "DATABASE is a module constant naming the local test server's database, never input"
    ),
}


def python_files(*folders: str) -> Iterator[tuple[str, ast.Module]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(), str(path))


def _built_from_values(node: ast.expr) -> bool:
    """Text made by formatting: an f-string with values, `a + b`, `a % b`, `"...".format()`."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return any(
            isinstance(side, (ast.Constant, ast.JoinedStr)) for side in (node.left, node.right)
        )
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)  # sql.SQL("...").format(...) is the fix
    )


def _text_of(node: ast.expr) -> str:
    return ast.unparse(node).lstrip("f").strip("'\"")


def test_sql_is_never_built_by_formatting_values_into_its_text() -> None:
    found: list[str] = []
    checked = 0
    for name, tree in python_files("connectors", "api", "dataflows"):
        for node in ast.walk(tree):
            text: ast.expr | None = None
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in SQL_CALLS:
                    checked += 1
                    text = node.args[0]
            elif isinstance(node, ast.JoinedStr) and SQL_START.match(_text_of(node)):
                text = node  # SQL text formatted anywhere, even before it reaches execute()
            if text is None or not _built_from_values(text):
                continue
            words = " ".join(_text_of(text).split()[:2])
            if (name, words) not in SQL_ALLOWED:
                found.append(f"{name}:{node.lineno}: {ast.unparse(text)[:100]}")
    print(f"\n[security] {checked} SQL calls read; formatted SQL outside the allowed list: {found}")
    assert checked > 50
    assert found == [], "compose SQL with psycopg.sql.SQL(...).format(sql.Identifier(...))"


def _reads_environment(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """`os.environ[...]`, `os.environ.get(...)`, `os.getenv(...)`, `"X" in os.environ`; but not
    `{**os.environ, ...}`, which hands the whole environment on to a child process unread, nor
    `os.environ["X"] = ...`, which sets a library's own setting from skuflow's (Bytewax reads
    its dataflow API's from the environment)."""
    if isinstance(node, ast.Attribute) and node.attr == "getenv":
        return True
    if not (isinstance(node, ast.Attribute) and node.attr == "environ") and not (
        isinstance(node, ast.Name) and node.id == "environ"
    ):
        return False
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store):
        return False
    return not (isinstance(parent, ast.Dict) and node in parent.values and None in parent.keys)


def test_the_environment_is_read_only_by_the_settings() -> None:
    found: list[str] = []
    for name, tree in python_files("state", "dataflows", "connectors", "api"):
        if name == "connectors/settings.py":
            continue
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        found += [
            f"{name}:{node.lineno}: {ast.unparse(node)}"
            for node in ast.walk(tree)
            if _reads_environment(node, parents)
        ]
    assert found == [], "read configuration through connectors.settings.Settings"


def test_the_static_checks_catch_what_they_look_for() -> None:
    """The scanners themselves: each flags its bad example and passes its good one."""
    bad_sql = ast.parse("conn.execute(f\"SELECT * FROM {table} WHERE sku = '{sku}'\")").body[0]
    good_sql = ast.parse('conn.execute(sql.SQL("SELECT {}").format(sql.Identifier(t)), [s])')
    assert isinstance(bad_sql, ast.Expr)
    assert isinstance(bad_sql.value, ast.Call)
    assert _built_from_values(bad_sql.value.args[0])
    call = good_sql.body[0].value  # type: ignore[attr-defined]
    assert not _built_from_values(call.args[0])
    for source, reads in (
        ("os.environ['SKUFLOW_X']", True),
        ("os.getenv('X')", True),
        ("env = {**os.environ, 'A': 'b'}", False),
        ("os.environ['BYTEWAX_X'] = '1'", False),
        ("x = os.environ['BYTEWAX_X']", True),
    ):
        tree = ast.parse(source)
        parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
        assert any(_reads_environment(n, parents) for n in ast.walk(tree)) is reads, source
