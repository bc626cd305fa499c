"""One transaction path: every route is `async def` and reaches the database only through
`deps.run_in_session`; services never end a transaction (docs/api.md, "Routes and transactions").

Two views of the same rule, so that neither a new route nor a new module escapes it: the app's
routes, walked from the routers it includes (`platform_api.app.ROUTERS`, checked against the
operations of its OpenAPI schema so that none is missed): every endpoint and every dependency a
coroutine, so that none runs in FastAPI's unbudgeted thread pool, and every endpoint in a
`routes.py`; and the source of every `routes.py` and `service.py`: a route hands its session to
`run_in_session` and to nothing else and has no other way to the database; a service neither
ends a transaction nor runs one (`run_in_session`).
"""

from __future__ import annotations

import ast
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

import platform_api
from platform_api.app import ROUTERS, create_app
from platform_api.deps import get_heavy_session, get_scan_session, get_session
from platform_api.settings import Settings

PACKAGE = Path(platform_api.__file__).parent
ROUTE_MODULES = sorted(PACKAGE.glob("*/routes.py"))
SERVICE_MODULES = sorted(PACKAGE.glob("*/service.py"))
SESSION_TYPES = frozenset({"DbSession", "ScanSession", "HeavySession"})
# What a route module must never name: other ways to a connection or a transaction.
FORBIDDEN_NAMES = frozenset(
    {
        "get_database",
        "database",
        "engine",
        "read_sessions",
        "write_sessions",
        "transaction",
        "Session",
        "sessionmaker",
    }
)
# What a service must never do to its session: the request boundary ends the transaction.
ENDING_CALLS = frozenset({"commit", "rollback", "close", "begin", "begin_nested"})
ROUTE_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "api_route"})


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app as served, without its lifespan: routes exist from `create_app` on."""
    database = tmp_path_factory.mktemp("transaction-path") / "platform.db"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    with mock.patch.dict(os.environ, clean, clear=True):
        return create_app(Settings(database_url=f"sqlite:///{database}"))


def api_routes(app: FastAPI) -> list[APIRoute]:
    """The app's routes, from the routers it includes (FastAPI keeps them behind its own)."""
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def test_the_walked_routes_are_all_the_app_serves(app: FastAPI) -> None:
    walked = {(method, route.path) for route in api_routes(app) for method in methods(route)}
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert len(served) > 30
    assert served == walked


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from dependency_calls(dependency)


def is_async(call: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


def methods(route: APIRoute) -> set[str]:
    return route.methods or set()


def route_id(route: APIRoute) -> str:
    return f"{sorted(methods(route))} {route.path}"


def test_every_route_is_async_def_in_a_routes_module(app: FastAPI) -> None:
    routes = api_routes(app)
    plain = [route_id(r) for r in routes if not inspect.iscoroutinefunction(r.endpoint)]
    assert plain == [], "plain `def` routes run outside the database budget"
    elsewhere = [
        route_id(r)
        for r in routes
        if not (
            r.endpoint.__module__.startswith("platform_api.")
            and r.endpoint.__module__.endswith(".routes")
        )
    ]
    assert elsewhere == [], "a route outside a routes.py escapes the source checks below"


def test_every_dependency_is_async(app: FastAPI) -> None:
    """A plain `def` dependency is a thread-pool hop of FastAPI's own, outside the budgets."""
    plain = {
        f"{route_id(route)}: {call.__qualname__}"
        for route in api_routes(app)
        for call in dependency_calls(route.dependant)
        if not is_async(call)
    }
    assert plain == set()


def test_the_database_routes_have_the_request_session(app: FastAPI) -> None:
    """Readiness included: its round trip goes through the read session's hop like any read."""
    with_session = {
        (method, route.path)
        for route in api_routes(app)
        for method in methods(route)
        if {get_session, get_scan_session, get_heavy_session}
        & set(dependency_calls(route.dependant))
    }
    assert ("GET", "/health/ready") in with_session
    assert ("DELETE", "/api/v1/admin/test-runs/{run_id}") in with_session
    assert ("GET", "/health") not in with_session


def routes_in(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and d.func.attr in ROUTE_DECORATORS
            for d in node.decorator_list
        ):
            yield node


def session_parameters(route: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    arguments = [*route.args.posonlyargs, *route.args.args, *route.args.kwonlyargs]
    return {
        arg.arg
        for arg in arguments
        if isinstance(arg.annotation, ast.Name) and arg.annotation.id in SESSION_TYPES
    }


def misuses_of_the_session(route: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Every use of the route's session that is not an argument of `run_in_session(...)`."""
    names = session_parameters(route)
    allowed: set[int] = set()
    for node in ast.walk(route):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_in_session":
            allowed.update(id(arg) for arg in node.args if isinstance(arg, ast.Name))
    return [
        f"{route.name} line {node.lineno}: {ast.unparse(parent)}"
        for parent in ast.walk(route)
        for node in ast.iter_child_nodes(parent)
        if isinstance(node, ast.Name) and node.id in names and id(node) not in allowed
    ]


def forbidden_references(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            modules += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for module in modules:
                if module.split(".")[0] == "sqlalchemy" or module == "platform_api.db":
                    found.append(f"line {node.lineno}: imports {module}")
            names = {alias.name for alias in node.names} & FORBIDDEN_NAMES
            found += [f"line {node.lineno}: imports {name}" for name in sorted(names)]
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=lambda p: p.parent.name)
def test_a_route_reaches_the_database_only_through_run_in_session(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    routes = list(routes_in(tree))
    assert routes, f"no route found in {path}"
    plain = [route.name for route in routes if not isinstance(route, ast.AsyncFunctionDef)]
    assert plain == []
    misuses = [misuse for route in routes for misuse in misuses_of_the_session(route)]
    assert misuses == [], "a route's session goes to run_in_session and nowhere else"
    assert forbidden_references(tree) == []


@pytest.mark.parametrize("path", SERVICE_MODULES, ids=lambda p: p.parent.name)
def test_a_service_never_ends_a_transaction(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    ending = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ENDING_CALLS
    ]
    assert ending == []
    running = [
        f"line {node.lineno}: {alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name == "run_in_session"
    ]
    assert running == [], "the route runs the transactions, the service the work of one"
