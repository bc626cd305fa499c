"""Whether a monitor source could be read: a missing source warns once, never crashes a run."""

from __future__ import annotations


class SourceHealth:
    """The outcome of every read of one source; the first failure is the one the user sees."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reads = 0
        self.failures = 0
        self.message: str | None = None
        self._reported = False

    def ok(self) -> None:
        self.reads += 1

    def fail(self, message: str, *, warn: bool = True) -> None:
        """Record a failed read; `warn=False` when another source's warning already says why."""
        self.reads += 1
        self.failures += 1
        if self.message is None:
            self.message = message
            self._reported = not warn

    def new_warning(self) -> str | None:
        """The first failure's message, once; None afterwards and while all reads succeed."""
        if self.message is None or self._reported:
            return None
        self._reported = True
        return self.message

    def summary(self) -> str:
        """ "ok", or the first failure (with how many reads failed when some succeeded)."""
        if self.message is None:
            return "ok"
        if self.failures == self.reads:
            return self.message
        return f"{self.message} ({self.failures} of {self.reads} reads failed)"
