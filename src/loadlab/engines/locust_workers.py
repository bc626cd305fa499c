"""Each Locust worker of a run as the master's stream tells of it: its host, its requests and
failures, its CPU (Locust's heartbeats), how far its clock is from the master's, and its loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loadlab.results import GeneratorWorker
from loadlab.verdict import SATURATION_PERCENT


@dataclass
class _Tally:
    index: int
    host: str = ""
    requests: int = 0
    failures: int = 0
    cpu_sum: float = 0.0
    cpu_samples: int = 0
    cpu_max: float | None = None
    offset_s: float = 0.0
    lost_at_s: float | None = None


class WorkerTally:
    """Fed by the Locust engine's reader, one stream record at a time."""

    def __init__(self) -> None:
        self._workers: dict[str, _Tally] = {}

    def _get(self, worker: str, index: int | None = None) -> _Tally:
        tally = self._workers.get(worker)
        if tally is None:
            tally = self._workers[worker] = _Tally(index=-1)
        if index is not None:
            tally.index = index
        return tally

    def host(self, worker: str, host: str) -> None:
        self._get(worker).host = host

    def stats(self, worker: str, entries: list[list[Any]], offset_s: float) -> None:
        tally = self._get(worker)
        tally.requests += sum(int(entry[4]) for entry in entries)
        tally.failures += sum(int(entry[5]) for entry in entries)
        tally.offset_s = offset_s

    def cpu(self, workers: dict[str, list[Any]]) -> None:
        """One second of the master's view: {client id: [worker index, CPU percent]}."""
        for worker, (index, percent) in workers.items():
            tally = self._get(worker, int(index))
            if percent is None:
                continue
            tally.cpu_sum += float(percent)
            tally.cpu_samples += 1
            tally.cpu_max = float(percent) if tally.cpu_max is None else max(tally.cpu_max, percent)

    def lost(self, worker: str, index: int, at_s: float) -> None:
        tally = self._get(worker, index)
        if tally.lost_at_s is None:
            tally.lost_at_s = at_s

    def result(self) -> tuple[GeneratorWorker, ...]:
        return tuple(
            GeneratorWorker(
                index=tally.index,
                worker=worker,
                host=tally.host or worker.rsplit("_", 1)[0],  # Locust's id is host_uuid
                requests=tally.requests,
                failures=tally.failures,
                cpu_percent_mean=tally.cpu_sum / tally.cpu_samples if tally.cpu_samples else None,
                cpu_percent_max=tally.cpu_max,
                saturated=tally.cpu_max is not None and tally.cpu_max > SATURATION_PERCENT,
                clock_offset_s=tally.offset_s,
                lost_at_s=tally.lost_at_s,
            )
            for worker, tally in sorted(self._workers.items(), key=lambda item: item[1].index)
        )


def saturated_names(workers: tuple[GeneratorWorker, ...]) -> tuple[str, ...]:
    """The saturated workers, in the words of the verdict line."""
    return tuple(
        f"worker {w.index} on {w.host} ({w.cpu_percent_max:.0f}% of a core)"
        for w in workers
        if w.saturated and w.cpu_percent_max is not None
    )
