"""loadlab: run the platform's load tests on Locust or k6 and judge them against thresholds."""

__version__ = "0.1.0"
