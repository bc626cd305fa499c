"""The run's own options (beyond Locust's), and the check that they suffice before users start.

Each option is a Locust command-line option with an environment variable beside it, so the same
settings reach a single process, a master and its workers (Locust sends the master's parsed
options to the workers with each spawn message). The docstring of locustfile.py lists them.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from locust.env import Environment

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def add_options(parser: Any) -> None:
    """Add the run's options to Locust's parser (an init_command_line_parser listener)."""
    parser.add_argument(
        "--load-test-run-id",
        env_var="LOAD_TEST_RUN_ID",
        default="",
        help="Id sent as X-Load-Test-Run on every request (default: generated)",
    )
    parser.add_argument(
        "--admin-api-key",
        env_var="PLATFORM_ADMIN_API_KEY",
        default="",
        is_secret=True,
        help="The platform's admin key, for AdminUser and the cleanup",
    )
    parser.add_argument(
        "--api-key",
        env_var="PLATFORM_API_KEY",
        default="",
        is_secret=True,
        help="An existing account's key, for runs that exclude the write tag",
    )
    parser.add_argument(
        "--api-keys",
        env_var="PLATFORM_API_KEYS",
        default="",
        is_secret=True,
        help="Existing accounts' keys, comma-separated, shared out among the users of runs that "
        "exclude the write tag (`platform-api seed-keys` gives seeded accounts keys)",
    )
    parser.add_argument(
        "--no-cleanup",
        action="store_true",
        default=os.environ.get("LOAD_TEST_CLEANUP", "1").strip().lower() in {"0", "false", "no"},
        help="Keep the run's data when the test stops (env LOAD_TEST_CLEANUP=0)",
    )
    parser.add_argument(
        "--think-time-scale",
        env_var="LOAD_TEST_THINK_SCALE",
        type=float,
        default=1.0,
        help="Multiplies every think time (0: no think time)",
    )


@dataclass(frozen=True)
class RunSettings:
    """What this run needs beyond Locust's own options, read from the parsed options."""

    run_id: str
    admin_key: str
    api_key: str
    api_keys: tuple[str, ...]
    cleanup: bool
    think_scale: float
    tags: frozenset[str] | None
    exclude_tags: frozenset[str] | None

    @classmethod
    def of(cls, environment: Environment) -> RunSettings:
        options = environment.parsed_options
        tags = environment.tags if environment.tags is not None else _option(options, "tags")
        exclude = environment.exclude_tags
        if exclude is None:
            exclude = _option(options, "exclude_tags")
        return cls(
            run_id=str(_option(options, "load_test_run_id") or ""),
            admin_key=str(_option(options, "admin_api_key") or ""),
            api_key=str(_option(options, "api_key") or ""),
            api_keys=tuple(k for k in str(_option(options, "api_keys") or "").split(",") if k),
            cleanup=not _option(options, "no_cleanup"),
            think_scale=float(_option(options, "think_time_scale", 1.0)),
            tags=frozenset(tags) if tags else None,
            exclude_tags=frozenset(exclude) if exclude else None,
        )

    def allows(self, task_tags: Collection[str]) -> bool:
        """Whether a task with these tags survives --tags/--exclude-tags (Locust's rule)."""
        if self.tags is not None and not self.tags.intersection(task_tags):
            return False
        return self.exclude_tags is None or not self.exclude_tags.intersection(task_tags)

    def reader_key(self) -> str:
        """The key a user of a read-only run signs in with: one of the existing accounts' keys
        (so it reads what that member owns), else the one account's, else the admin's."""
        if self.api_keys:
            return random.choice(self.api_keys)
        return self.api_key or self.admin_key

    def writes(self, user_class: type) -> bool:
        """Whether a selected task of this class changes state (and so may register, create)."""
        return any(self.allows(t) and "write" in t for t in task_tags(user_class))

    def needs_account(self, user_class: type) -> bool:
        """Whether a selected task of this class needs an account (all but health checks)."""
        return any(self.allows(t) and "health" not in t for t in task_tags(user_class))

    def problems(self, user_classes: Collection[type]) -> list[str]:
        """Everything that would make this run fail for want of configuration."""
        found = []
        empty = [c.__name__ for c in user_classes if not any(map(self.allows, task_tags(c)))]
        if empty:
            found.append(
                f"the tags leave {', '.join(empty)} with no task: name the user classes to run "
                "before the options, e.g. locust -f locustfile.py AdminUser --tags admin"
            )
        if not RUN_ID_PATTERN.match(self.run_id):
            found.append(f"LOAD_TEST_RUN_ID {self.run_id!r} is invalid: use 1-64 [A-Za-z0-9_.-]")
        if self.think_scale < 0:
            found.append("LOAD_TEST_THINK_SCALE must be 0 or more")
        classes = [c for c in user_classes if self.needs_account(c)]
        admins = [c for c in classes if _uses_admin_key(c)]
        readers = [c for c in classes if not self.writes(c) and not _uses_admin_key(c)]
        if not self.admin_key and admins:
            found.append("AdminUser needs the platform's admin key: set PLATFORM_ADMIN_API_KEY")
        elif not self.admin_key and self.cleanup and any(map(self.writes, user_classes)):
            found.append(
                "the cleanup of the run's data needs the platform's admin key: "
                "set PLATFORM_ADMIN_API_KEY, or pass --no-cleanup (LOAD_TEST_CLEANUP=0)"
            )
        if readers and not (self.api_keys or self.api_key or self.admin_key):
            found.append(
                "a run without the write tag cannot register accounts: set PLATFORM_API_KEYS "
                "(existing accounts), PLATFORM_API_KEY (one) or PLATFORM_ADMIN_API_KEY"
            )
        return found


def task_tags(user_class: type) -> Iterable[frozenset[str]]:
    """The tag set of each of a user class's tasks (after Locust's tag filtering, if it ran)."""
    for candidate in getattr(user_class, "tasks", ()):
        yield frozenset(getattr(candidate, "locust_tag_set", ()))


def _option(options: Any, name: str, default: Any = None) -> Any:
    return getattr(options, name, default) if options is not None else default


def _uses_admin_key(user_class: type) -> bool:
    # A class attribute rather than issubclass(AdminUser): the users import this module.
    return bool(getattr(user_class, "uses_admin_key", False))
