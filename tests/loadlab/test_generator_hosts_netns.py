"""Generator hosts simulated by network namespaces (netns.py): a master and two `loadlab worker`s,
each with its own address, against a target on the bridge. Totals across hosts equal Locust's; a
worker killed or cut off mid-run is named and fails the run."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psutil
import pytest
from loadlab_process import (
    LOCUSTFILE,
    Finished,
    base_env,
    engine_totals,
    loadlab_command,
    locust_reported,
    start_loadlab,
)
from netns import Network, generator_network, skip_reason
from tiny_target import TinyTarget, tiny_target

from process_harness import TestProcess
from waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
WORKERS = ("w1", "w2")


@pytest.fixture
def hosts() -> Iterator[tuple[Network, TinyTarget]]:
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with (
        generator_network(["master", *WORKERS]) as network,
        tiny_target(host=network.bridge_address) as target,
    ):
        yield network, target


def _workers(network: Network, logs: Path, stack: ExitStack) -> dict[str, TestProcess]:
    master = f"{network.addresses['master']}:5557"
    started = {}
    for name in WORKERS:
        worker = TestProcess(
            [*network.run_in(name), *loadlab_command(), "worker", "--master", master,
             "--processes", "1", "--locustfile", str(LOCUSTFILE)],
            logs,
            cwd=REPO,
            name=f"worker-{name}",
        )  # fmt: skip
        stack.callback(worker.close)
        started[name] = worker
    return started


def _master(network: Network, target: TinyTarget, tmp_path: Path, run_time: str) -> list[str]:
    return [
        "run", "smoke", "--engine", "locust", "--locustfile", str(LOCUSTFILE), "--workers", "0",
        "--expect-workers", "2", "--master-bind", f"{network.addresses['master']}:5557",
        "--host", target.url, "--users", "4", "--spawn-rate", "4", "--run-time", run_time,
        "--threshold", "failures == 0",
    ]  # fmt: skip


def _lose_one(hosts: tuple[Network, TinyTarget], tmp_path: Path, how: str) -> Finished:
    network, target = hosts
    results = tmp_path / "results"
    with ExitStack() as stack:
        workers = _workers(network, tmp_path / "logs", stack)
        running = stack.enter_context(
            start_loadlab(
                _master(network, target, tmp_path, "15s"),
                env=base_env(tmp_path),
                results_dir=results,
                prefix=network.run_in("master"),
            )
        )
        wait_for(lambda: locust_reported(results), 60, "the workers' first report")
        if how == "kill":
            for process in psutil.Process(workers["w2"].pid).children(recursive=True):
                process.send_signal(signal.SIGKILL)
        else:
            network.cut("w2")
        finished = running.finish()
        workers["w2"].kill()  # cut off, it would wait for its master for a minute
    return finished


def test_two_namespaced_workers_add_up_to_locusts_totals(
    hosts: tuple[Network, TinyTarget], tmp_path: Path
) -> None:
    network, target = hosts
    with ExitStack() as stack:
        workers = _workers(network, tmp_path / "logs", stack)
        finished = start_loadlab(
            _master(network, target, tmp_path, "4s"),
            env=base_env(tmp_path),
            results_dir=tmp_path / "results",
            prefix=network.run_in("master"),
        ).finish()
        for worker in workers.values():
            worker.finish(60)  # the master's quit ends them
    assert finished.code == 0, finished.stdout + finished.stderr
    run_dir = finished.run_dir()
    assert "2 workers connected" in (run_dir / "locust_master.log").read_text()
    totals = finished.summary()["totals"]
    assert (totals["requests"], totals["failures"]) == engine_totals(run_dir, "locust")
    assert totals["requests"] > 0
    with target.lock:  # the load came from both generator hosts
        assert {network.addresses[name] for name in WORKERS} <= target.clients


@pytest.mark.parametrize("how", ["kill", "cut"])
def test_a_worker_lost_mid_run_is_named_and_fails_the_run(
    hosts: tuple[Network, TinyTarget], tmp_path: Path, how: str
) -> None:
    finished = _lose_one(hosts, tmp_path, how)
    assert finished.code == 1, finished.stdout + finished.stderr
    summary = finished.summary()
    [lost] = [t for t in summary["thresholds"] if t["metric"] == "lost_workers"]
    assert (lost["status"], lost["measured"]) == ("fail", 1)
    assert "s into the run" in lost["detail"]
    assert summary["totals"]["requests"] > 0
