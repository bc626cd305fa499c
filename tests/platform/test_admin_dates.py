"""Admin `since`/`until` at the edges of the date range: 422, never 500 (on both databases).

A moment such as 0001-01-01T00:00:00+14:00 parses, but its UTC instant is before year 1; the
conversion used to raise OverflowError inside the query and answer 500.
"""

from __future__ import annotations

import pytest

from platform_accounts import Account

WINDOWED = ["/api/v1/admin/costs", "/api/v1/admin/audit-logs"]
OUT_OF_RANGE = [
    {"since": "0001-01-01T00:00:00+14:00"},
    {"until": "0001-01-01T00:00:00+14:00"},
    {"since": "9999-12-31T23:59:59-14:00"},
    {"until": "9999-12-31T23:59:59-14:00"},
]
IN_RANGE = [
    {"since": "0001-01-01T00:00:00Z"},
    {"since": "0001-01-01T00:00:00"},
    {"until": "9999-12-31T23:59:59Z"},
    {"since": "0001-01-01T14:00:00+14:00", "until": "9999-12-31T09:59:59-14:00"},
]


@pytest.mark.parametrize("path", WINDOWED, ids=lambda p: p.rsplit("/", 1)[-1])
@pytest.mark.parametrize(
    "params", OUT_OF_RANGE, ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items())
)
def test_a_moment_outside_utc_is_422(admin: Account, path: str, params: dict[str, str]) -> None:
    response = admin.get(path, params=params)
    assert response.status_code == 422, response.text
    (detail,) = response.json()["error"]["details"]
    assert detail["loc"] == ["query", next(iter(params))]
    # The connection is still good for the next request.
    assert admin.get(path).status_code == 200


@pytest.mark.parametrize("path", WINDOWED, ids=lambda p: p.rsplit("/", 1)[-1])
@pytest.mark.parametrize(
    "params", IN_RANGE, ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items())
)
def test_the_first_and_last_utc_moments_are_accepted(
    admin: Account, path: str, params: dict[str, str]
) -> None:
    response = admin.get(path, params=params)
    assert response.status_code == 200, response.text
