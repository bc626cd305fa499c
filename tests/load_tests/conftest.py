"""The fixtures of tests/load_tests, defined in load_tests_fixtures.py."""

from load_tests_fixtures import platform

__all__ = ["platform"]
