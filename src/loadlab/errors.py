"""Errors that end a loadlab command, each carrying its exit code and a hint for the user.

One handler in `cli.py` turns them into one line on stderr; the exit-code table lives here so the
docs, the verdict and the handler agree.
"""

from __future__ import annotations

EXIT_PASSED = 0
EXIT_THRESHOLD_FAILED = 1
EXIT_USAGE = 2
EXIT_TARGET_OR_ENGINE = 3
EXIT_INTERRUPTED = 4
EXIT_INCONCLUSIVE = 5


class LoadlabError(Exception):
    """A problem the user can act on: `str(error)` names it, `hint` says what to do."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def one_line(self) -> str:
        text = str(self)
        return f"{text}; {self.hint}" if self.hint else text


class UsageError(LoadlabError):
    """Bad options, configuration, scenario, stage string or threshold (exit 2)."""

    exit_code = EXIT_USAGE


class TargetError(LoadlabError):
    """The target could not be started or reached (exit 3)."""

    exit_code = EXIT_TARGET_OR_ENGINE


class Interrupted(LoadlabError):
    """Ctrl-C before any load was measured (exit 4)."""

    exit_code = EXIT_INTERRUPTED


class EngineError(LoadlabError):
    """The load engine is missing or failed (exit 3)."""

    exit_code = EXIT_TARGET_OR_ENGINE
