"""The platform: the HTTP API service that the load tests exercise."""
