"""The one way tests run a program: output to files, timeouts everywhere, always reaped.

In the spirit of Locust's own `TestProcess`: start a command, `expect` a line in its output,
`finish` with an expected exit code, and on the way out (even when the test failed) SIGINT it,
then kill it and its process group if it does not go. Output goes to files, never to a pipe that
nobody reads.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from waiting import wait_for


@dataclass(frozen=True)
class Finished:
    """A program that has exited, with what it printed."""

    code: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        out, err = self.stdout[-4000:], self.stderr[-6000:]
        return f"exit {self.code}\n--- stdout\n{out}\n--- stderr\n{err}"


class TestProcess:
    """A program started in a session of its own, stdout and stderr in files under `logs`."""

    __test__ = False  # not a test class for pytest

    def __init__(
        self,
        command: Sequence[str],
        logs: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        name: str | None = None,
    ) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        stem = name or Path(command[0]).name
        self.stdout_path = logs / f"{stem}.stdout"
        self.stderr_path = logs / f"{stem}.stderr"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen: subprocess.Popen[bytes] = subprocess.Popen(
                list(command),
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def expect(self, text: str, timeout_s: float = 30, *, stream: str = "stderr") -> None:
        """Until `text` appears in the program's `stream`; fails early if the program exits."""

        def seen() -> bool:
            output = self.stderr if stream == "stderr" else self.stdout
            if text in output:
                return True
            assert self.popen.poll() is None, f"exited before printing {text!r}: {self.explain()}"
            return False

        wait_for(seen, timeout_s, f"{text!r} in the {stream} of {self.popen.args!r}")

    def signal(self, signum: int = signal.SIGINT) -> None:
        with suppress(ProcessLookupError):
            self.popen.send_signal(signum)

    def finish(self, timeout_s: float = 120, *, expect_code: int | None = None) -> Finished:
        """Wait for the exit (killing the program after `timeout_s`) and return what it printed."""
        try:
            code = self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running after {timeout_s:g} s: {self.explain()}") from None
        finished = Finished(code, self.stdout, self.stderr)
        if expect_code is not None:
            assert code == expect_code, finished.explain()
        return finished

    def kill(self) -> None:
        """SIGKILL the program's whole process group, and reap it."""
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def close(self, grace_s: float = 15) -> None:
        """SIGINT, then the group's SIGKILL after `grace_s`; reaps everything it started."""
        if self.popen.poll() is None:
            self.signal(signal.SIGINT)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace_s)
        self.kill()

    def explain(self) -> str:
        return Finished(self.popen.returncode or 0, self.stdout, self.stderr).explain()

    def __enter__(self) -> TestProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def started(
    command: Sequence[str],
    logs: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    name: str | None = None,
) -> Iterator[TestProcess]:
    with TestProcess(command, logs, env=env, cwd=cwd, name=name) as process:
        yield process


def run(
    command: Sequence[str],
    logs: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 120,
    name: str | None = None,
) -> Finished:
    """Run a program to its end (killed after `timeout_s`) and return what it printed."""
    with started(command, logs, env=env, cwd=cwd, name=name) as process:
        return process.finish(timeout_s)
