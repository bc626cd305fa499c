"""FastHttpUser, with requests grouped under one name."""

from locust import FastHttpUser, constant, task


class QuickVisitor(FastHttpUser):
    wait_time = constant(0.05)

    @task(3)
    def item(self):
        for number in range(3):
            self.client.get(f"/items/{number}", name="/items/[n]")

    @task
    def health(self):
        self.client.get("/health")
