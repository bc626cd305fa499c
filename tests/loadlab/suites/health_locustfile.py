"""A tiny suite for loadlab's own tests: proves loadlab runs any locustfile against any host.

It reads the admin key that loadlab passes (PLATFORM_ADMIN_API_KEY), so an authenticated route,
which the platform's fault injection can slow down or break, sits beside the never-faulted /health.
"""

import os

from locust import FastHttpUser, constant_throughput, tag, task


class ProbeUser(FastHttpUser):
    wait_time = constant_throughput(20)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {os.environ.get('PLATFORM_ADMIN_API_KEY', '')}"}

    @tag("read")
    @task(3)
    def me(self) -> None:
        self.client.get("/api/v1/auth/me", headers=self.headers, name="/api/v1/auth/me")

    @tag("health")
    @task(1)
    def health(self) -> None:
        self.client.get("/health", name="/health")
