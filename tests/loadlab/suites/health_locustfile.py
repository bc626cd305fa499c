"""A tiny suite for loadlab's own tests: proves loadlab runs any locustfile against any host."""

from locust import FastHttpUser, constant_throughput, tag, task


class ProbeUser(FastHttpUser):
    wait_time = constant_throughput(20)

    @tag("ready")
    @task(3)
    def ready(self) -> None:
        self.client.get("/health/ready", name="/health/ready")

    @tag("health")
    @task(1)
    def health(self) -> None:
        self.client.get("/health", name="/health")
