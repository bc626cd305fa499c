"""A suite whose workers take long to stop: its test_stop listener blocks for 2 s, as a suite that
closes connections or writes files at the end may. Locust's master, quitting, waits 0.5 s for the
workers' last reports; loadlab's run must still count every request made."""

import time

from locust import FastHttpUser, constant_throughput, events, task


@events.test_stop.add_listener
def _slow_to_stop(environment, **_kwargs):
    if environment.runner is not None and type(environment.runner).__name__ == "WorkerRunner":
        time.sleep(2.0)


class Steady(FastHttpUser):
    wait_time = constant_throughput(20)

    @task
    def health(self) -> None:
        self.client.get("/health", name="/health")
