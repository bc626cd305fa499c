"""A locustfile whose LoadTestShape is imported from a module beside it, as Locust allows."""

from locust import HttpUser, constant, task
from shapes import RampShape  # noqa: F401  (Locust finds the shape among this module's names)


class Visitor(HttpUser):
    wait_time = constant(0.2)

    @task
    def front_page(self):
        self.client.get("/")
