"""Tasks as plain functions, listed with weights, and a TaskSet of them."""

from locust import HttpUser, TaskSet, between


def front_page(user):
    user.client.get("/")


def health(user):
    user.client.get("/health")


class Browsing(TaskSet):
    tasks = {front_page: 2, health: 1}

    def on_start(self):
        self.client.get("/")


class Visitor(HttpUser):
    wait_time = between(0.05, 0.1)
    tasks = [Browsing]
