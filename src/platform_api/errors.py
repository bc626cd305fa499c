"""Domain errors that carry their HTTP status, and the one handler that turns them into JSON.

Services raise these and never `HTTPException`; every error body has the same shape:
`{"error": {"code", "message", "request_id", "details"}}`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

logger = logging.getLogger("platform_api")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class PlatformError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}


class BadRequest(PlatformError):
    status_code = 400
    code = "bad_request"


class Unauthorized(PlatformError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str = "A valid API key is required") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(PlatformError):
    status_code = 403
    code = "forbidden"


class NotFound(PlatformError):
    status_code = 404
    code = "not_found"


class Conflict(PlatformError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(PlatformError):
    status_code = 413
    code = "payload_too_large"


class ValidationFailed(PlatformError):
    status_code = 422
    code = "validation_error"


class RateLimited(PlatformError):
    status_code = 429
    code = "rate_limited"


class InjectedFault(PlatformError):
    status_code = 500
    code = "injected_fault"


class Unavailable(PlatformError):
    status_code = 503
    code = "unavailable"


class DatabaseBusy(Unavailable):
    """A writer that did not get the database in time: retry, the server is fine."""

    def __init__(self, message: str = "The database is busy; retry shortly") -> None:
        super().__init__(message, headers={"Retry-After": "1"})


class GatewayTimeout(PlatformError):
    status_code = 504
    code = "timeout"


def error_payload(
    code: str, message: str, request_id: str | None, details: list[Any]
) -> dict[str, Any]:
    """The one error body, for the handlers below and the middleware's early answers."""
    return {
        "error": {"code": code, "message": message, "request_id": request_id, "details": details}
    }


def error_body(request: Request, code: str, message: str, details: list[Any]) -> dict[str, Any]:
    return error_payload(code, message, getattr(request.state, "request_id", None), details)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PlatformError, _platform_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(PoolTimeoutError, _pool_exhausted)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _operational)  # type: ignore[arg-type]
    app.add_exception_handler(DataError, _unstorable_value)  # type: ignore[arg-type]
    app.add_exception_handler(IntegrityError, _integrity_conflict)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _platform_error(request: Request, exc: PlatformError) -> JSONResponse:
    return JSONResponse(
        error_body(request, exc.code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
        for err in exc.errors()
    ]
    return _invalid(request, details)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if isinstance(exc.__cause__, PlatformError):
        # Raised while FastAPI read the body (the streamed body limit): keep its own status.
        return await _platform_error(request, exc.__cause__)
    if exc.status_code == 400:
        # The framework's only 400 is a body it could not decode; the contract says 422.
        detail = {
            "loc": ["body"],
            "msg": "The body is not valid UTF-8 JSON",
            "type": "json_invalid",
        }
        return _invalid(request, [detail])
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette lists only the first matching route's method; list every method of the path.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(request, code, str(exc.detail), []),
        status_code=exc.status_code,
        headers=headers,
    )


async def _pool_exhausted(request: Request, exc: PoolTimeoutError) -> JSONResponse:
    return await _platform_error(request, DatabaseBusy())


async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
    # SQLite's write lock held past the busy timeout by another process (`--workers N`), or by
    # this process's worker past the in-process wait (db.py): busy, not broken.
    if "database is locked" in str(exc.orig):
        return await _platform_error(request, DatabaseBusy())
    return await _unexpected(request, exc)


async def _unstorable_value(request: Request, exc: DataError) -> JSONResponse:
    # The database refused a value that passed validation (text holding NUL, which both databases
    # refuse, an integer out of range): the client's input, so 422 and not 500.
    logger.info("value refused by the database: %s", exc.orig)
    detail = {
        "loc": ["body" if request.method in BODY_METHODS else "query"],
        "msg": "A value cannot be stored (e.g. a NUL character)",
        "type": "value_error",
    }
    return _invalid(request, [detail])


async def _integrity_conflict(request: Request, exc: IntegrityError) -> JSONResponse:
    # A race the services cannot see in advance: the parent row went away (a test run's cleanup
    # deleting the caller's account mid-request) or a unique value was taken meanwhile.
    logger.info("integrity conflict: %s", exc.orig)
    message = "The request conflicts with a concurrent change; reload and retry"
    return JSONResponse(error_body(request, "conflict", message, []), status_code=409)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body(request, "internal_error", "Internal server error", []), status_code=500
    )


def _invalid(request: Request, details: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(
        error_body(request, "validation_error", "The request is not valid", details),
        status_code=422,
    )


def _allowed_methods(request: Request) -> list[str]:
    # Ask the router per method with a fresh scope: FastAPI nests included routers, so their
    # routes cannot simply be listed.
    allowed = []
    for method in HTTP_METHODS:
        probe = {
            "type": "http",
            "method": method,
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "headers": [],
            "app": request.app,
        }
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed
