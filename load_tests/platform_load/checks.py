"""What a response must contain to count as a success, beyond its status code.

A 200 with a wrong body is a failure: every request names the keys its body must have (from
docs/api.md) and may add a check of the values. A check returns None when the body is right, else
one line saying what is wrong, which Locust records as the request's failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Check = Callable[[Any], "str | None"]

PAGE_KEYS = ("items", "next_cursor")
WORKSPACE_KEYS = ("id", "name", "description", "owner_id", "created_at", "updated_at")
WORKFLOW_KEYS = ("id", "workspace_id", "name", "steps", "created_at", "updated_at")
EXECUTION_KEYS = ("id", "workflow_id", "workspace_id", "status", "step_results", "cost_usd")
DOCUMENT_KEYS = ("id", "title", "tags")
USER_KEYS = ("id", "email", "name", "role", "disabled", "created_at")


def judge(
    response: Any, expect: int, keys: tuple[str, ...], check: Check | None
) -> tuple[str | None, Any]:
    """(problem, JSON body): the problem is None when the response is what the contract says."""
    if response.status_code != expect:
        if response.status_code:
            text = (response.text or "")[:200]
        else:
            text = str(getattr(response, "error", None) or "no response")
        return f"expected HTTP {expect}, got {response.status_code}: {text}", None
    try:
        data = response.json()
    except ValueError:
        return "response body is not JSON", None
    if keys:
        if not isinstance(data, dict):
            return "response body is not a JSON object", None
        missing = [key for key in keys if key not in data]
        if missing:
            return f"response body lacks {', '.join(missing)}", None
    return (check(data) if check is not None else None), data


def equals(key: str, value: Any) -> Check:
    """The body's `key` holds `value`."""

    def check(data: Any) -> str | None:
        got = data.get(key) if isinstance(data, dict) else None
        return None if got == value else f"expected {key}={value!r}, got {got!r}"

    return check


def items_have(keys: Iterable[str]) -> Check:
    """The body's `items` is a list whose every item has all of `keys`."""
    wanted = tuple(keys)

    def check(data: Any) -> str | None:
        items = data.get("items")
        if not isinstance(items, list):
            return "items is not a list"
        for item in items:
            missing = [key for key in wanted if key not in item]
            if missing:
                return f"an item lacks {', '.join(missing)}"
        return None

    return check
