"""A LoadTestShape with stages: users and spawn rate per stage, then the test stops (6 s)."""

from locust import HttpUser, LoadTestShape, TaskSet, constant, task


class Pages(TaskSet):
    @task
    def front_page(self):
        self.client.get("/")


class Visitor(HttpUser):
    wait_time = constant(0.2)
    tasks = [Pages]


class StagesShape(LoadTestShape):
    # Each stage lasts until `until` seconds into the test.
    stages = (
        {"until": 1, "users": 1, "spawn_rate": 1},
        {"until": 2, "users": 5, "spawn_rate": 5},
        {"until": 4, "users": 10, "spawn_rate": 5},
        {"until": 5, "users": 3, "spawn_rate": 5},
        {"until": 6, "users": 1, "spawn_rate": 1},
    )

    def tick(self):
        elapsed = self.get_run_time()
        for stage in self.stages:
            if elapsed < stage["until"]:
                return stage["users"], stage["spawn_rate"]
        return None
