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
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("platform_api")


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


class GatewayTimeout(PlatformError):
    status_code = 504
    code = "timeout"


def error_body(request: Request, code: str, message: str, details: list[Any]) -> dict[str, Any]:
    request_id = getattr(request.state, "request_id", None)
    return {
        "error": {"code": code, "message": message, "request_id": request_id, "details": details}
    }


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PlatformError)
    async def _platform_error(request: Request, exc: PlatformError) -> JSONResponse:
        return JSONResponse(
            error_body(request, exc.code, exc.message, exc.details),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        return JSONResponse(
            error_body(request, "validation_error", "The request is not valid", details),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(request, code, str(exc.detail), []),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(PoolTimeoutError)
    async def _pool_exhausted(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        return JSONResponse(
            error_body(request, "unavailable", "The database is busy; retry shortly", []),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body(request, "internal_error", "Internal server error", []), status_code=500
        )
