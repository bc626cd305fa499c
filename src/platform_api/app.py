"""The app factory. Nothing is built at import: the lifespan owns engine, sessions and worker."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psutil
from fastapi import FastAPI

from platform_api.accounts import routes as accounts_routes
from platform_api.accounts.service import ensure_admin
from platform_api.admin import routes as admin_routes
from platform_api.db import create_database, migrate
from platform_api.deps import SessionBudgets
from platform_api.errors import install_error_handlers
from platform_api.executions import routes as executions_routes
from platform_api.health import routes as health_routes
from platform_api.heavy import routes as heavy_routes
from platform_api.heavy.pool import HeavyPool
from platform_api.knowledge import routes as knowledge_routes
from platform_api.knowledge.search_cache import SearchCache
from platform_api.middleware import FaultState, PlatformMiddleware
from platform_api.ratelimit import InProcessRateLimiter, RateLimiter, RedisRateLimiter
from platform_api.settings import Settings
from platform_api.telemetry import Telemetry
from platform_api.worker import ExecutionWorker
from platform_api.workflows import routes as workflows_routes
from platform_api.workspaces import routes as workspaces_routes
from platform_api.write_queue import WriteQueue

ROUTERS = (
    health_routes.router,
    accounts_routes.router,
    workspaces_routes.router,
    knowledge_routes.router,
    admin_routes.router,
    heavy_routes.router,
    workflows_routes.router,
    executions_routes.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    telemetry = Telemetry()
    faults = FaultState(settings.faults)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_startup:
            migrate(settings)
        database = create_database(settings)
        telemetry.watch_engine(database.engine)
        telemetry.start_sampling(database)
        limiter = _rate_limiter(settings)
        app.state.database = database
        app.state.limiter = limiter
        writes = WriteQueue(wait_s=settings.write_wait_s) if settings.is_sqlite else None
        if writes is not None:
            writes.start()
        app.state.session_budgets = SessionBudgets.create(writes)
        app.state.started_at = time.time()
        app.state.search_cache = SearchCache(ttl_s=settings.cache_ttl_s)
        app.state.process = _measured_process()
        ensure_admin(database, settings.admin_api_key)
        worker = ExecutionWorker(database, settings, telemetry)
        app.state.worker = worker
        if settings.worker_enabled:
            worker.start()
        heavy_pool = HeavyPool(settings.heavy_processes, wait_s=settings.heavy_wait_s)
        heavy_pool.start()
        app.state.heavy_pool = heavy_pool
        switch_interval_s = sys.getswitchinterval()
        if settings.gil_switch_interval_ms:
            sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)
        try:
            yield
        finally:
            heavy_pool.close()
            worker.stop()
            telemetry.stop_sampling()
            limiter.close()
            if writes is not None:
                writes.close()
            database.dispose()
            sys.setswitchinterval(switch_interval_s)

    app = FastAPI(
        title="The platform",
        version="1.0.0",
        description="The HTTP API that the load tests exercise. See docs/api.md.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.telemetry = telemetry
    app.state.faults = faults
    install_error_handlers(app)
    app.add_middleware(
        PlatformMiddleware,
        telemetry=telemetry,
        faults=faults,
        max_body_bytes=settings.max_body_bytes,
    )
    for router in ROUTERS:
        app.include_router(router)
    return app


def _rate_limiter(settings: Settings) -> RateLimiter:
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url)
    return InProcessRateLimiter()


def _measured_process() -> psutil.Process:
    """One handle per app, so that cpu_percent measures the time since the previous call."""
    process = psutil.Process()
    process.cpu_percent(interval=None)
    return process
