"""ASGI middleware: request ids, test-run tags, body limits, metrics and fault injection.

Written as plain ASGI (not BaseHTTPMiddleware) so that it adds no task per request and never
buffers a streamed body.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_api.errors import PayloadTooLarge, error_payload
from platform_api.route_template import RouteTemplate
from platform_api.settings import FaultSettings
from platform_api.telemetry import Telemetry

TEST_RUN_HEADER = b"x-load-test-run"
REQUEST_ID_HEADER = b"x-request-id"
TEST_RUN_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
NEVER_FAULTED = ("/health", "/metrics", "/api/v1/admin/faults")
# The request state's raw RateLimit-* headers, set once the caller is let through
# (platform_api.deps): added here to every answer that follows, the routes' own Responses and
# error bodies included.
RATE_LIMIT_HEADERS = "rate_limit_headers"


class FaultState:
    """The fault-injection settings in force; an admin endpoint can replace them at runtime."""

    def __init__(self, settings: FaultSettings) -> None:
        self.leaked: list[bytearray] = []
        self.replace(settings)

    def replace(self, settings: FaultSettings) -> None:
        self.settings = settings
        pattern = settings.route_pattern
        self.route = RouteTemplate.parse(pattern) if pattern else None

    def applies_to(self, path: str) -> bool:
        if not self.settings.active or path.startswith(NEVER_FAULTED):
            return False
        return self.route is None or self.route.matches(path)


class PlatformMiddleware:
    def __init__(
        self, app: ASGIApp, *, telemetry: Telemetry, faults: FaultState, max_body_bytes: int
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.faults = faults
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = _header(headers, REQUEST_ID_HEADER)[:64] or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        test_run = _header(headers, TEST_RUN_HEADER)
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode()),
                    *state.get(RATE_LIMIT_HEADERS, ()),
                ]
            await send(message)

        started = time.perf_counter()
        self.telemetry.in_flight.inc()
        try:
            if test_run and not TEST_RUN_ID.match(test_run):
                await _error(
                    send_wrapper,
                    request_id,
                    400,
                    "bad_request",
                    "X-Load-Test-Run must be 1-64 characters of A-Z a-z 0-9 _ . -",
                )
                return
            state["test_run_id"] = test_run or None
            if b"%00" in scope.get("query_string", b""):
                # SQLite would match it and PostgreSQL refuse it: one answer, before either sees it.
                await _error(
                    send_wrapper,
                    request_id,
                    422,
                    "validation_error",
                    "The request is not valid",
                    details=[
                        {"loc": ["query"], "msg": "NUL (%00) is not allowed", "type": "value_error"}
                    ],
                )
                return
            length = _header(headers, b"content-length")
            if length.isdigit() and int(length) > self.max_body_bytes:
                await _error(
                    send_wrapper,
                    request_id,
                    413,
                    "payload_too_large",
                    f"The request body is larger than {self.max_body_bytes} bytes",
                )
                return
            if self.faults.applies_to(scope["path"]) and await self._inject(
                send_wrapper, request_id
            ):
                return
            await self.app(scope, _limited(receive, self.max_body_bytes), send_wrapper)
        except _BodyTooLarge:
            await _error(
                send_wrapper,
                request_id,
                413,
                "payload_too_large",
                f"The request body is larger than {self.max_body_bytes} bytes",
            )
        finally:
            self.telemetry.in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            template = template or "unmatched"
            elapsed = time.perf_counter() - started
            method = scope["method"]
            self.telemetry.requests.labels(method, template, str(status_holder["status"])).inc()
            self.telemetry.request_duration.labels(method, template).observe(elapsed)

    async def _inject(self, send: Send, request_id: str) -> bool:
        """Apply the configured faults; True when the request was answered with an error."""
        fault = self.faults.settings
        if fault.leak_bytes_per_request:
            self.faults.leaked.append(bytearray(b"x" * fault.leak_bytes_per_request))
        if fault.cpu_ms_per_request:
            await anyio.to_thread.run_sync(_burn_cpu, fault.cpu_ms_per_request / 1000)
        delay_ms = fault.latency_ms
        if fault.latency_jitter_ms:
            delay_ms += random.uniform(0, fault.latency_jitter_ms)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if fault.error_rate and random.random() < fault.error_rate:
            await _error(send, request_id, 500, "injected_fault", "Injected fault")
            return True
        return False


class _BodyTooLarge(PayloadTooLarge):
    """Raised while the body streams in; the app's error handler answers 413."""


def _limited(receive: Receive, limit: int) -> Receive:
    received = 0

    async def wrapper() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge(f"The request body is larger than {limit} bytes")
        return message

    return wrapper


def _burn_cpu(seconds: float) -> None:
    deadline = time.thread_time() + seconds
    value = 0
    while time.thread_time() < deadline:
        value += sum(range(1000))


def _header(headers: dict[bytes, bytes], name: bytes) -> str:
    return headers.get(name, b"").decode("latin-1").strip()


async def _error(
    send: Send,
    request_id: str,
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
) -> None:
    payload = json.dumps(error_payload(code, message, request_id, details or [])).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
