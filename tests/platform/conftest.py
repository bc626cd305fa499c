"""The fixtures of tests/platform, defined in platform_fixtures.py."""

from platform_fixtures import admin, client, member, other_member, server

__all__ = ["admin", "client", "member", "other_member", "server"]
