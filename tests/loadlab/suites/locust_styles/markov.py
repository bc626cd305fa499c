"""A MarkovTaskSet: each task names the tasks that may follow it, with weights."""

from locust import HttpUser, MarkovTaskSet, constant, transition, transitions


class Journey(MarkovTaskSet):
    @transition("browse")
    def arrive(self):
        self.client.get("/")

    @transitions({"browse": 2, "check": 1})
    def browse(self):
        self.client.get("/items/1", name="/items/[n]")

    @transition("arrive", weight=1)
    @transition("browse", weight=3)
    def check(self):
        self.client.get("/health")


class Traveller(HttpUser):
    wait_time = constant(0.05)
    tasks = [Journey]
