"""The error every report raises, so the command line shows one line and the right exit code."""

from __future__ import annotations

from loadlab.errors import EXIT_TARGET_OR_ENGINE, LoadlabError


class ReportError(LoadlabError):
    """One or more outputs could not be written; every other output was (exit 3)."""

    exit_code = EXIT_TARGET_OR_ENGINE
