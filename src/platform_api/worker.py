"""The background worker that runs queued executions (filled in with the executions domain)."""

from __future__ import annotations

from platform_api.db import Database
from platform_api.settings import Settings
from platform_api.telemetry import Telemetry


class ExecutionWorker:
    def __init__(self, database: Database, settings: Settings, telemetry: Telemetry) -> None:
        self.database = database
        self.settings = settings
        self.telemetry = telemetry

    def start(self) -> None:
        pass

    def stop(self, timeout_s: float = 10.0) -> None:
        pass
