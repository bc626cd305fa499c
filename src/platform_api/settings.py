"""Settings from `PLATFORM_*` environment variables, checked before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_api.route_template import route_template

DEFAULT_DATA_DIR = Path("data")


class FaultSettings(BaseSettings):
    """Fault injection, to test the load tests themselves. Off by default."""

    model_config = SettingsConfigDict(env_prefix="PLATFORM_FAULT_", extra="ignore")

    latency_ms: float = Field(0.0, ge=0, le=60_000)
    latency_jitter_ms: float = Field(0.0, ge=0, le=60_000)
    error_rate: float = Field(0.0, ge=0, le=1)
    leak_bytes_per_request: int = Field(0, ge=0, le=100 * 1024 * 1024)
    cpu_ms_per_request: float = Field(0.0, ge=0, le=10_000)
    # A route template or prefix (platform_api.route_template), never a regex: faults apply to
    # the requests whose path it matches, to every request when unset.
    route_pattern: Annotated[str | None, AfterValidator(route_template)] = None

    @property
    def active(self) -> bool:
        return bool(
            self.latency_ms
            or self.latency_jitter_ms
            or self.error_rate
            or self.leak_bytes_per_request
            or self.cpu_ms_per_request
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLATFORM_", extra="ignore")

    database_url: str = ""
    data_dir: Path = DEFAULT_DATA_DIR
    admin_api_key: str | None = None
    redis_url: str | None = None
    log_file: Path | None = None
    log_level: str = "info"

    # Database
    db_pool_size: int = Field(20, ge=1, le=500)
    # 20 + 25 covers AnyIO's 40 request threads plus the worker, so a healthy server never waits.
    db_max_overflow: int = Field(25, ge=0, le=500)
    db_pool_timeout_s: float = Field(3.0, gt=0, le=60)
    sqlite_busy_timeout_s: float = Field(30.0, gt=0, le=600)
    # How long a write request waits for its turn at SQLite's writer in this process before it is
    # answered 503 with Retry-After (platform_api.write_queue). Long enough for the queue to absorb
    # a burst (the seed's stress profile starts 50 users a second, each of them signing up and
    # creating a workspace at once: 5 s refused hundreds of them), shorter than clients' usual 30 s.
    write_wait_s: float = Field(20.0, gt=0, le=600)
    # The interpreter's GIL switch interval while the app runs (`sys.setswitchinterval`; Python's
    # default is 5 ms). A database call gives the GIL up and then waits up to this long to get it
    # back from a busy event loop, so at 5 ms SQLite's one writer thread managed ~25 short write
    # transactions a second under the seed's stress profile; 0 keeps the interpreter's value.
    gil_switch_interval_ms: float = Field(1.0, ge=0, le=100)
    migrate_on_startup: bool = True

    # Requests
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    # The budget of a heavy request's work, counted from when a process is free for it.
    heavy_timeout_s: float = Field(10.0, gt=0, le=600)
    # Processes for heavy CPU work; 0 runs it in the request's thread (platform_api.heavy.pool).
    heavy_processes: int = Field(1, ge=0, le=64)
    # How long a heavy request waits for a free process before 503 with Retry-After; like
    # write_wait_s, long enough to absorb the stress profile's queue, under clients' usual 30 s.
    heavy_wait_s: float = Field(20.0, gt=0, le=600)
    # Files whose analysis figures each heavy process keeps, by content digest, so that a file
    # met again is not parsed again (platform_api.heavy.analysis); 0 parses every file. An entry
    # is ~3 KB for platform-medium's files: a full cache of the default is ~60 MB per process.
    analysis_cache_files: int = Field(20_000, ge=0, le=1_000_000)

    # The proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # forwarded_allow_ips: addresses or networks, comma separated, or "*"). Empty: none, so the
    # client address of the rate limits is always the connection's peer.
    forwarded_allow_ips: str = ""
    # How long an idle keep-alive connection stays open. uvicorn's 5 s is inside load tests' think
    # times (2-5 s): a request sent as the server closed the connection failed with "connection
    # closed" (43 of 15,361 in the seed's stress profile).
    keep_alive_s: int = Field(75, ge=1, le=3600)

    # Rate limits: generous so that the seed's scenarios never meet them.
    rate_limit_per_s: float = Field(200.0, gt=0)
    rate_limit_burst: int = Field(400, ge=1)
    register_rate_limit_per_s: float = Field(50.0, gt=0)
    register_rate_limit_burst: int = Field(1000, ge=1)

    # Executions
    worker_enabled: bool = True
    worker_threads: int = Field(2, ge=1, le=64)
    worker_poll_interval_s: float = Field(0.2, gt=0, le=60)
    execution_lease_s: float = Field(30.0, gt=0, le=3600)

    cache_ttl_s: float = Field(30.0, ge=0)

    # Test-run cleanup (platform_api.cleanup): rows per batch, and how long one DELETE
    # /api/v1/admin/test-runs/{run_id} works before it answers `complete: false`.
    cleanup_batch_rows: int = Field(500, ge=1, le=100_000)
    cleanup_budget_s: float = Field(30.0, gt=0, le=3600)

    faults: FaultSettings = Field(default_factory=FaultSettings)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("PLATFORM_DATABASE_URL must start with sqlite:// or postgresql://")
        return value

    @field_validator("admin_api_key")
    @classmethod
    def _strong_admin_key(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("PLATFORM_ADMIN_API_KEY must be at least 16 characters")
        return value

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> Settings:
        if self.rate_limit_burst < 1:
            raise ValueError("PLATFORM_RATE_LIMIT_BURST must be at least 1")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: psycopg 3 for PostgreSQL, a file in the data directory by default."""
        url = self.database_url
        if not url:
            return f"sqlite:///{(self.data_dir / 'platform.db').resolve()}"
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
