"""System series: the target's process tree, the host, and the load generator, through psutil.

CPU and disk are counters turned into rates between samples. Each process's last reading is kept
by pid, so a worker forked mid-run counts from its birth and one that exits costs only its last
interval. When the target is not on this machine (no pid), the target's own `process_*` series of
`/metrics` stand in: CPU, RSS and open files, but no threads, disk or per-process network.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psutil

from loadlab.monitor.health import SourceHealth
from loadlab.monitor.prometheus import Scrape

Sample = dict[str, float | None]
_CREATE_TIME_SLACK_S = 2.0


@dataclass(frozen=True)
class TreeReading:
    """A process tree between two samples: counter deltas and current gauges."""

    cpu_s: float
    busiest_cpu_s: float
    read_bytes: float | None
    write_bytes: float | None
    rss_bytes: float
    threads: float
    open_fds: float | None


class ProcessTree:
    """Counter deltas of a process and all its descendants, reusing psutil objects between reads."""

    def __init__(self, root_pid: int) -> None:
        self.root = psutil.Process(root_pid)
        self._procs: dict[int, psutil.Process] = {}
        self._last: dict[int, tuple[float, float, float]] = {}
        self._last_wall: float | None = None

    def read(self) -> TreeReading:
        """Raises psutil.NoSuchProcess when the root has exited, AccessDenied when not ours."""
        procs = [self.root, *self.root.children(recursive=True)]
        now = time.time()
        cpu = busiest = read = write = rss = threads = fds = 0.0
        io_known = fds_known = True
        current: dict[int, tuple[float, float, float]] = {}
        for child in procs:
            proc = self._procs.get(child.pid)
            if proc is None or proc != child:
                proc = child
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    rss += proc.memory_info().rss
                    threads += proc.num_threads()
                    io = _io_bytes(proc)
                    fd_count = _open_fds(proc)
                    born = proc.create_time()
            except psutil.NoSuchProcess:
                continue
            io_known = io_known and io is not None
            fds_known = fds_known and fd_count is not None
            fds += fd_count or 0
            counters = (times.user + times.system, *(io or (0.0, 0.0)))
            current[proc.pid] = counters
            self._procs[proc.pid] = proc
            before = self._baseline(proc.pid, born, counters)
            cpu_delta = max(0.0, counters[0] - before[0])
            cpu += cpu_delta
            busiest = max(busiest, cpu_delta)
            read += max(0.0, counters[1] - before[1])
            write += max(0.0, counters[2] - before[2])
        for gone in set(self._procs) - set(current):
            del self._procs[gone]
        self._last, self._last_wall = current, now
        return TreeReading(
            cpu_s=cpu,
            busiest_cpu_s=busiest,
            read_bytes=read if io_known else None,
            write_bytes=write if io_known else None,
            rss_bytes=rss,
            threads=threads,
            open_fds=fds if fds_known else None,
        )

    def _baseline(
        self, pid: int, born: float, counters: tuple[float, float, float]
    ) -> tuple[float, float, float]:
        known = self._last.get(pid)
        if known is not None:
            return known
        # psutil derives create_time from the boot time in whole seconds, so it can read up to a
        # second early: a process "born" shortly before the last read may well be new.
        if self._last_wall is not None and born >= self._last_wall - _CREATE_TIME_SLACK_S:
            return (0.0, 0.0, 0.0)  # born since the last read: everything it did is new
        return counters  # first read, or missed before: only count from now on


def _io_bytes(proc: psutil.Process) -> tuple[float, float] | None:
    try:
        io = proc.io_counters()
    except (psutil.AccessDenied, AttributeError):  # AttributeError: no io_counters on this OS
        return None
    return float(io.read_bytes), float(io.write_bytes)


def _open_fds(proc: psutil.Process) -> float | None:
    try:
        return float(proc.num_fds())
    except (psutil.AccessDenied, AttributeError):
        return None


def default_cores(target_pid: int | None) -> float:
    """The cores the target may use, when the user did not say.

    A remote target: this host's count (the best guess there is). A local one: its CPU affinity,
    except that a tree of Python processes runs Python code on one core per process at a time
    (the GIL): then one core per child process (the workers a supervisor such as uvicorn starts),
    or one for a lone process. multiprocessing's own helper processes are not workers.
    """
    if target_pid is None:
        return _host_cores()
    try:
        root = psutil.Process(target_pid)
        allowed = float(len(root.cpu_affinity() or ()) or _host_cores())
        tree = [root, *root.children(recursive=True)]
        if all(_runs_python(p) for p in tree):
            children = [p for p in tree[1:] if not _is_multiprocessing_helper(p)]
            return min(allowed, float(len(children) or 1))
        return allowed
    except (psutil.Error, AttributeError):  # AttributeError: no cpu_affinity on this OS
        return _host_cores()


def _runs_python(proc: psutil.Process) -> bool:
    return os.path.basename(proc.exe()).startswith(("python", "pypy"))


def _is_multiprocessing_helper(proc: psutil.Process) -> bool:
    command = " ".join(proc.cmdline())
    return "multiprocessing.resource_tracker" in command or "multiprocessing.forkserver" in command


def _host_cores() -> float:
    return float(os.cpu_count() or 1)


class SystemSampler:
    """Target, host and generator series; one instance per run, called once per interval."""

    def __init__(
        self, target_pid: int | None, generator_pids: Callable[[], Sequence[int]], base_url: str
    ) -> None:
        self.health = SourceHealth("system")
        self._target_pid = target_pid
        self._target: ProcessTree | None = None
        self._generator_pids = generator_pids
        self._generators: dict[int, ProcessTree] = {}
        self._base_url = base_url
        self._host_cores = _host_cores()
        self._host_times = psutil.cpu_times()
        self._net = psutil.net_io_counters()
        self._process_cpu_s: float | None = None

    def start(self, scrape: Scrape | None) -> None:
        """Take the baselines; the first sample's rates are measured from here."""
        if self._target_pid is not None:
            try:
                self._target = ProcessTree(self._target_pid)
                self._target.read()
            except psutil.Error as exc:
                self.health.fail(_process_problem(self._target_pid, exc))
                self._target = None
        elif scrape is not None:
            self._process_cpu_s = scrape.total("process_cpu_seconds_total")
        self._read_generators()
        self._host_times = psutil.cpu_times()
        self._net = psutil.net_io_counters()

    def sample(self, dt_s: float, scrape: Scrape | None) -> Sample:
        row: Sample = {}
        row.update(self._host(dt_s))
        row.update(self._target_series(dt_s, scrape))
        cpu_s, busiest_s = self._read_generators()
        row["generator_cpu_percent"] = _percent(cpu_s, dt_s)
        row["generator_max_process_cpu_percent"] = _percent(busiest_s, dt_s)
        return row

    def _host(self, dt_s: float) -> Sample:
        times = psutil.cpu_times()
        total = sum(times) - sum(self._host_times)
        idle = _idle(times) - _idle(self._host_times)
        self._host_times = times
        busy = (total - idle) / total * self._host_cores * 100 if total > 0 else None
        net = psutil.net_io_counters()
        sent = (net.bytes_sent - self._net.bytes_sent) / dt_s
        recv = (net.bytes_recv - self._net.bytes_recv) / dt_s
        self._net = net
        return {
            "host_cpu_percent": busy,
            "host_memory_used_bytes": float(psutil.virtual_memory().used),
            "target_net_sent_bytes_per_s": max(0.0, sent),
            "target_net_recv_bytes_per_s": max(0.0, recv),
        }

    def _target_series(self, dt_s: float, scrape: Scrape | None) -> Sample:
        if self._target is not None:
            try:
                reading = self._target.read()
            except psutil.Error as exc:
                self.health.fail(_process_problem(self._target_pid, exc))
                return dict.fromkeys(_TARGET_KEYS)
            self.health.ok()
            return {
                "target_cpu_percent": _percent(reading.cpu_s, dt_s),
                "target_rss_bytes": reading.rss_bytes,
                "target_threads": reading.threads,
                "target_open_fds": reading.open_fds,
                "target_disk_read_bytes_per_s": _rate(reading.read_bytes, dt_s),
                "target_disk_write_bytes_per_s": _rate(reading.write_bytes, dt_s),
            }
        if self._target_pid is None:
            return self._from_metrics(dt_s, scrape)
        return dict.fromkeys(_TARGET_KEYS)

    def _from_metrics(self, dt_s: float, scrape: Scrape | None) -> Sample:
        row: Sample = dict.fromkeys(_TARGET_KEYS)
        cpu_s = scrape.total("process_cpu_seconds_total") if scrape else None
        if scrape is None or cpu_s is None:
            self.health.fail(
                f"no target pid and no process_* series at {self._base_url}/metrics: "
                "target CPU and memory are not measured (give --target-pid)"
            )
            self._process_cpu_s = None
            return row
        self.health.ok()
        if self._process_cpu_s is not None:
            row["target_cpu_percent"] = _percent(max(0.0, cpu_s - self._process_cpu_s), dt_s)
        self._process_cpu_s = cpu_s
        row["target_rss_bytes"] = scrape.total("process_resident_memory_bytes")
        row["target_open_fds"] = scrape.total("process_open_fds")
        return row

    def _read_generators(self) -> tuple[float, float]:
        cpu = busiest = 0.0
        pids = set(self._generator_pids())
        for pid in set(self._generators) - pids:
            del self._generators[pid]
        for pid in pids:
            try:
                tree = self._generators.get(pid) or ProcessTree(pid)
                reading = tree.read()
            except psutil.Error:
                self._generators.pop(pid, None)  # a generator that ended has no more CPU to count
                continue
            self._generators[pid] = tree
            cpu += reading.cpu_s
            busiest = max(busiest, reading.busiest_cpu_s)
        return cpu, busiest


_TARGET_KEYS = (
    "target_cpu_percent",
    "target_rss_bytes",
    "target_threads",
    "target_open_fds",
    "target_disk_read_bytes_per_s",
    "target_disk_write_bytes_per_s",
)


def _idle(times: object) -> float:
    return float(getattr(times, "idle", 0.0)) + float(getattr(times, "iowait", 0.0))


def _percent(cpu_s: float, dt_s: float) -> float:
    return cpu_s / dt_s * 100 if dt_s > 0 else 0.0


def _rate(amount: float | None, dt_s: float) -> float | None:
    if amount is None or dt_s <= 0:
        return None
    return amount / dt_s


def _process_problem(pid: int | None, exc: psutil.Error) -> str:
    if isinstance(exc, psutil.AccessDenied):
        return f"no permission to read target process {pid}: run loadlab as the same user"
    return f"target process {pid} does not exist (or exited): give the pid of a running server"
