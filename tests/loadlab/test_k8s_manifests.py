"""`loadlab k8s`: the manifests are valid for Kubernetes and for the operators' own CRDs, and what
they carry runs as the operators would run it (no cluster here: the ConfigMap is unpacked into a
folder, as the operators mount it, and the engines are started with the manifests' arguments).

The CRDs in k8s_schemas/ are the operators' own files (see its README.md).
"""

from __future__ import annotations

import base64
import copy
import csv
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from loadlab_process import REPO, loadlab_command
from tiny_target import tiny_target

from platform_server import free_port
from process_harness import Finished, TestProcess, run

SCHEMAS = Path(__file__).parent / "k8s_schemas"
CRDS = {"LocustTest": "locusttest.yaml", "TestRun": "k6.io_testruns.yaml"}
KUBERNETES = kubernetes_validate.latest_version()

LOCUST_SUITE = {
    "locustfile.py": (
        "from locust import HttpUser, constant, task\n"
        "from routes.paths import PATH\n\n\n"
        "class Reader(HttpUser):\n"
        "    wait_time = constant(0.05)\n\n"
        "    @task\n"
        "    def read(self):\n"
        "        self.client.get(PATH)\n"
    ),
    "routes/__init__.py": "",
    "routes/paths.py": 'PATH = "/from-a-package"\n',
}
K6_SUITE = {
    "main.js": (
        "import http from 'k6/http';\n"
        "import { sleep } from 'k6';\n"
        "import { PATH } from './lib/paths.js';\n\n"
        "export default function () {\n"
        "  http.get(`${__ENV.BASE_URL}${PATH}`);\n"
        "  sleep(0.05);\n"
        "}\n"
    ),
    "lib/paths.js": "export const PATH = '/from-a-module';\n",
}


def loadlab_k8s(args: list[str], tmp_path: Path) -> Finished:
    """`loadlab k8s ...` in the repository (its suites are the defaults), writing under tmp_path."""
    command = [*loadlab_command(), "k8s", *args, "--results-dir", str(tmp_path / "results")]
    return run(command, tmp_path / "logs", cwd=REPO, timeout_s=60)


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _manifests(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    out = tmp_path / "k8s"
    finished = loadlab_k8s([*args, "--out", str(out)], tmp_path)
    assert finished.code == 0, finished.explain()
    [manifest] = [path for path in out.iterdir() if path.suffix == ".yaml"]
    assert str(manifest) in finished.stdout
    return list(yaml.safe_load_all(manifest.read_text(encoding="utf-8")))


def _strict(schema: Any) -> Any:
    """The CRD's schema with unknown fields refused (the API server would prune them silently:
    a misspelt field would be lost without a word)."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
    elif isinstance(schema, list):
        schema = [_strict(item) for item in schema]
    return schema


def _crd_spec_schema(kind: str) -> Any:
    crd = yaml.safe_load((SCHEMAS / CRDS[kind]).read_text(encoding="utf-8"))
    [version] = [v for v in crd["spec"]["versions"] if v["storage"]]
    return _strict(version["schema"]["openAPIV3Schema"]["properties"]["spec"])


def validate(document: dict[str, Any]) -> None:
    """Kubernetes' own schemas for core kinds and for every object's metadata; the operator's CRD
    for its resource's spec."""
    kind = document["kind"]
    if kind in CRDS:
        crd = yaml.safe_load((SCHEMAS / CRDS[kind]).read_text(encoding="utf-8"))
        assert (
            document["apiVersion"] == f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}"
        )
        assert set(document) == {"apiVersion", "kind", "metadata", "spec"}
        jsonschema.validate(document["spec"], _crd_spec_schema(kind))
        # The metadata is a Kubernetes ObjectMeta like any other's.
        document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": document["metadata"]}
    kubernetes_validate.validate(document, KUBERNETES, strict=True)


def _suite_args(tmp_path: Path, engine: str) -> list[str]:
    if engine == "k6":
        _write(tmp_path / "suite", K6_SUITE)
        return ["--engine", "k6", "--k6-script", str(tmp_path / "suite" / "main.js")]
    _write(tmp_path / "suite", LOCUST_SUITE)
    return ["-f", str(tmp_path / "suite" / "locustfile.py")]


@pytest.mark.parametrize("engine", ["locust", "k6"])
def test_the_manifests_are_valid_for_kubernetes_and_the_operators_crds(
    tmp_path: Path, engine: str
) -> None:
    documents = _manifests(
        tmp_path, "smoke", "--workers", "3", "--host", "http://platform.load.svc:8000",
        "--namespace", "load", *_suite_args(tmp_path, engine),
    )  # fmt: skip
    assert [d["kind"] for d in documents] == [
        "ConfigMap",
        "TestRun" if engine == "k6" else "LocustTest",
    ]
    for document in documents:
        validate(document)
        assert document["metadata"]["namespace"] == "load"
    configmap, resource = documents
    spec = resource["spec"]
    if engine == "k6":
        assert spec["parallelism"] == 3
        assert spec["script"]["configMap"] == {
            "name": "loadlab-smoke-script",
            "file": "archive.tar",
        }
    else:
        assert spec["workers"] == 3
        assert spec["locustfile"] == {"configMap": {"name": configmap["metadata"]["name"]}}
        assert "--expect-workers 3" in spec["args"]


@pytest.mark.parametrize(
    ("kind", "broken"),
    [
        ("LocustTest", lambda spec: spec.update(wrokers=spec.pop("workers"))),
        ("LocustTest", lambda spec: spec.update(workers=0)),
        ("LocustTest", lambda spec: spec.update(locustfile={})),
        ("TestRun", lambda spec: spec.update(paralelism=spec.pop("parallelism"))),
        ("TestRun", lambda spec: spec["script"].update(configMap={"file": "archive.tar"})),
    ],
    ids=["misspelt-field", "no-workers", "no-suite", "misspelt-parallelism", "unnamed-configmap"],
)
def test_the_validation_refuses_a_broken_resource(tmp_path: Path, kind: str, broken: Any) -> None:
    """The check above can fail: each of these mistakes is caught by the CRD's schema."""
    engine = "k6" if kind == "TestRun" else "locust"
    documents = _manifests(
        tmp_path, "smoke", "--workers", "2", "--host", "http://t:8000",
        *_suite_args(tmp_path, engine),
    )  # fmt: skip
    resource = copy.deepcopy(documents[1])
    validate(resource)
    broken(resource["spec"])
    with pytest.raises(jsonschema.ValidationError):
        validate(resource)


def test_a_configmap_with_a_bad_name_is_refused_by_kubernetes_schema() -> None:
    with pytest.raises(kubernetes_validate.ValidationError):
        validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 3}, "data": {}})


def _unpack(configmap: dict[str, Any], folder: Path) -> None:
    """What the operator's volume holds: each key a file."""
    folder.mkdir()
    for name, text in configmap.get("data", {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    for name, encoded in configmap.get("binaryData", {}).items():
        (folder / name).write_bytes(base64.b64decode(encoded))


def _in_here(args: list[str], results: Path) -> list[str]:
    """The pods' arguments on this machine: results in a test folder, no wait after the load."""
    moved = [arg.replace("/tmp/", f"{results}/") for arg in args]
    previous = ["", *moved[:-1]]
    return [
        "0" if before == "--autoquit" else arg for before, arg in zip(previous, moved, strict=True)
    ]


def test_the_locusttest_runs_its_suite_as_the_operator_mounts_it(tmp_path: Path) -> None:
    """Master and worker started as the Locust operator starts them (`--master` / `--worker
    --master-host` + spec.args, in the ConfigMap's folder): the suite's package comes from the
    zip, loadlab's plugin follows the stages and writes its stream in the results folder."""
    locust = str(Path(sys.executable).with_name("locust"))
    with tiny_target() as target:
        configmap, resource = _manifests(
            tmp_path, "smoke", "--workers", "1", "--host", target.url, "--stages", "2s:2",
            *_suite_args(tmp_path, "locust"),
        )  # fmt: skip
        home, results = tmp_path / "home-locust", tmp_path / "results"
        results.mkdir()
        _unpack(configmap, home)
        spec = resource["spec"]
        env = {
            **{item["name"]: item["value"] for item in spec["env"]},
            "PATH": str(Path(sys.executable).parent),
        }
        env["PYTHONPATH"] = env["PYTHONPATH"].replace("/home/locust", str(home))
        args = _in_here(shlex.split(spec["args"]), results)
        port, web = free_port(), free_port()
        master = TestProcess(
            [locust, "--master", *args, "--master-bind-host", "127.0.0.1",
             "--master-bind-port", str(port), "--web-host", "127.0.0.1", "--web-port", str(web)],
            tmp_path / "logs", env=env, cwd=home, name="master",
        )  # fmt: skip
        with master, TestProcess(
            [locust, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port), *args],
            tmp_path / "logs", env=env, cwd=home, name="worker",
        ):  # fmt: skip
            finished = master.finish(90)
        with target.lock:
            served = len(target.arrivals)
    assert finished.code == 0, finished.explain()
    with open(results / "locust_stats.csv", newline="") as file:
        rows = {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(file)}
    assert rows["/from-a-package"] == rows["Aggregated"] > 0
    assert rows["Aggregated"] <= served
    stream = (results / "locust_loadlab.jsonl").read_text(encoding="utf-8")
    records = [json.loads(line) for line in stream.splitlines()]
    streamed = sum(e[4] for r in records if r["type"] == "stats" for e in r["entries"])
    assert streamed == rows["Aggregated"]  # the plugin's histograms count what Locust counted


def test_the_testrun_archive_carries_every_module_it_imports(tmp_path: Path) -> None:
    """The runner's command (`k6 run` + spec.arguments + the archive), with the suite's folder
    gone: `k6 archive` bundled its modules, and the arguments carry the stages and the target."""
    k6 = str(Path(sys.executable).with_name("k6"))
    with tiny_target() as target:
        configmap, resource = _manifests(
            tmp_path, "smoke", "--workers", "2", "--host", target.url, "--stages", "1s:2",
            *_suite_args(tmp_path, "k6"),
        )  # fmt: skip
        for path in sorted((tmp_path / "suite").rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        volume = tmp_path / "test"
        _unpack(configmap, volume)
        arguments = shlex.split(resource["spec"]["arguments"])
        assert "--stage" in arguments
        run = TestProcess(
            [k6, "run", "--quiet", *arguments, "--summary-export", str(tmp_path / "summary.json"),
             str(volume / "archive.tar")],
            tmp_path / "logs", cwd=tmp_path, name="k6",
        )  # fmt: skip
        with run:
            finished = run.finish(90)
        with target.lock:
            served = len(target.arrivals)
    assert finished.code == 0, finished.explain()
    summary = json.loads((tmp_path / "summary.json").read_text())
    requests = summary["metrics"]["http_reqs"]["count"]
    assert 0 < requests <= served


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0", "--host", "http://t:8000"], "--workers 0 must be at least 1"),
        (["--workers", "2", "--host", "http://t:8000", "--name", "Bad_Name"], "--name 'Bad_Name'"),
        (["--workers", "2", "--host", "t:8000"], "is not a base URL"),
        (["--workers", "2"], "Missing option '--host'"),
    ],
    ids=["no-workers", "bad-name", "bad-host", "no-host"],
)
def test_bad_options_get_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    finished = loadlab_k8s(["smoke", *args], tmp_path)
    assert finished.code == 2, finished.explain()
    assert message in finished.stderr
    assert "Traceback" not in finished.stderr
    assert not (tmp_path / "results").exists()


def test_it_never_overwrites_manifests(tmp_path: Path) -> None:
    args = ["smoke", "--workers", "1", "--host", "http://t:8000"]
    assert loadlab_k8s(args, tmp_path).code == 0
    edited = tmp_path / "results" / "k8s-loadlab-smoke" / "locusttest.yaml"
    edited.write_text("# edited by hand\n")
    finished = loadlab_k8s(args, tmp_path)
    assert finished.code == 2, finished.explain()
    assert "exists" in finished.stderr
    assert edited.read_text() == "# edited by hand\n"
