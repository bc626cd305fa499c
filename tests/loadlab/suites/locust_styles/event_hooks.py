"""Event hooks: init, test_start, every request, test_stop."""

from locust import HttpUser, TaskSet, between, events, task

seen = {"requests": 0, "started": False}


@events.init.add_listener
def on_init(environment, **_kwargs):
    seen["runner"] = type(environment.runner).__name__


@events.test_start.add_listener
def on_test_start(environment, **_kwargs):
    seen["started"] = True


@events.request.add_listener
def on_request(request_type, name, response_time, response_length, exception, **_kwargs):
    seen["requests"] += 1


@events.test_stop.add_listener
def on_test_stop(environment, **_kwargs):
    environment.events.request.remove_listener(on_request)


class Reading(TaskSet):
    @task(2)
    def front_page(self):
        self.client.get("/")

    @task
    def health(self):
        self.client.get("/health")


class Reader(HttpUser):
    wait_time = between(0.05, 0.1)
    tasks = [Reading]
