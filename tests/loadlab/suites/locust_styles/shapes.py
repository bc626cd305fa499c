"""Load shapes kept apart from the locustfiles that use them (imported_shape.py imports one)."""

from locust import LoadTestShape


class RampShape(LoadTestShape):
    """One user for a second, then two until the test stops (3 s)."""

    stages = (
        {"until": 1, "users": 1, "spawn_rate": 1},
        {"until": 3, "users": 2, "spawn_rate": 2},
    )

    def tick(self):
        elapsed = self.get_run_time()
        for stage in self.stages:
            if elapsed < stage["until"]:
                return stage["users"], stage["spawn_rate"]
        return None
