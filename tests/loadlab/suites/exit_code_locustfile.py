"""A suite that gives its own verdict, as Locust suites do: `environment.process_exit_code`."""

from locust import HttpUser, constant, events, task


class PacedUser(HttpUser):
    wait_time = constant(1)

    @task
    def ping(self) -> None:
        self.client.get("/ping")


@events.quitting.add_listener
def _verdict(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    environment.process_exit_code = 3  # the suite's own rule failed
