"""The HTML report in a real headless Chromium: charts drawn, no console errors, nothing fetched.

Chromium is driven over the DevTools protocol (a websocket), so the test sees what a person would:
exceptions, console errors, every network request, and the pixels of each chart's canvas.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from history_fixtures import synthetic_run
from websockets.sync.client import ClientConnection, connect

from loadlab.comparison import RunData, compare
from loadlab.regressions import parse_limits
from loadlab.reports import HtmlReporter
from loadlab.reports.charts import CHARTS
from loadlab.results import ErrorGroup, GeneratorWorker, MonitorData, RunSummary
from loadlab.trends import trend
from process_harness import started
from waiting import wait_for

FIXTURE = Path(__file__).parent / "report_fixtures" / "summary_smoke.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEWPORT = {"width": 1360, "height": 900}


def _summary() -> RunSummary:
    return RunSummary.from_dict(json.loads(FIXTURE.read_text()))


class DevTools:
    """The few DevTools calls the test needs; events are kept for the assertions."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.answers: dict[str, Any] = {}

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(f"{method} failed: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def drain(self) -> None:
        """Collect the events that arrived while nothing was being called."""
        while True:
            try:
                self.events.append(json.loads(self.socket.recv(timeout=0.2)))
            except TimeoutError:
                return

    def errors(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(json.dumps(params.get("args"))[:500])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    def requested_urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]


@pytest.fixture(scope="module")
def browser() -> Iterator[str]:
    """A headless Chromium on a free DevTools port; yields the websocket URL of a blank page."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with (
        tempfile.TemporaryDirectory(prefix="loadlab-chromium-") as profile,
        started(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            Path(profile),
            name="chromium",
        ),
    ):
        port_file = Path(profile) / "DevToolsActivePort"
        wait_for(lambda: port_file.exists() and port_file.read_text().strip(), 30, "DevTools port")
        port = int(port_file.read_text().split()[0])

        def page_socket() -> str | None:
            pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
            urls = [p["webSocketDebuggerUrl"] for p in pages if p.get("type") == "page"]
            return urls[0] if urls else None

        yield wait_for(page_socket, 30, "a page target")


def _open_report(
    browser: str, html: Path, screenshot: Path, queries: dict[str, str] | None = None
) -> tuple[DevTools, dict[str, Any]]:
    """Load the report, wait for the charts, measure them and save a full-page screenshot;
    the answers to `queries` (name -> JavaScript) are kept in `tools.answers`."""
    with connect(browser, max_size=64 * 1024 * 1024) as socket:
        tools = DevTools(socket)
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.call(f"{domain}.enable")
        tools.call(
            "Emulation.setDeviceMetricsOverride", deviceScaleFactor=1, mobile=False, **VIEWPORT
        )
        tools.call("Page.navigate", url=html.as_uri())
        wait_for(
            lambda: tools.evaluate("document.readyState") == "complete", 30, "the page to load"
        )
        wait_for(
            lambda: tools.evaluate("document.body.getAttribute('data-charts-drawn')"),
            30,
            "the charts to be drawn",
        )
        # A drawn chart has a canvas of real size with more than a few non-transparent pixels.
        measure = """
        Array.from(document.querySelectorAll('.chart')).map(function (card) {
          var canvas = card.querySelector('canvas');
          var inked = 0;
          if (canvas && canvas.width && canvas.height) {
            var context = canvas.getContext('2d');
            var pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
            for (var i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) inked++; }
          }
          return {id: card.dataset.chart, empty: card.classList.contains('empty'),
                  title: card.querySelector('h3').textContent,
                  width: canvas ? canvas.width : 0, height: canvas ? canvas.height : 0,
                  inked: inked};
        })"""
        charts = {c["id"]: c for c in wait_for(lambda: tools.evaluate(measure), 10, "charts")}
        tools.answers = {name: tools.evaluate(js) for name, js in (queries or {}).items()}
        shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        tools.drain()
        return tools, charts


def test_report_draws_every_chart_without_errors_or_network(browser: str, tmp_path: Path) -> None:
    summary = _summary()
    [html] = HtmlReporter().write(summary, tmp_path)

    tools, charts = _open_report(browser, html, tmp_path / "report.png")

    assert tools.errors() == []
    fetched = [u for u in tools.requested_urls() if not u.startswith(("file:", "data:"))]
    assert fetched == []
    assert set(charts) >= {chart.chart_id for chart in CHARTS}
    for chart_id, chart in charts.items():
        assert not chart["empty"], chart_id
        assert chart["width"] > 200, chart
        assert chart["height"] > 100, chart
        assert chart["inked"] > 500, chart
    assert (tmp_path / "report.png").stat().st_size > 20_000


def test_verdict_and_thresholds_come_first(tmp_path: Path) -> None:
    summary = _summary()
    [html] = HtmlReporter().write(summary, tmp_path)
    text = html.read_text()

    assert text.index('id="verdict"') < text.index('id="thresholds"') < text.index('class="charts"')
    assert "FAILED" in text
    for threshold in summary.thresholds:
        assert (
            f"<code>{threshold.expression.replace('<', '&lt;').replace('>', '&gt;')}</code>" in text
        )
    # error messages are escaped, never executed
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_each_load_generator_has_its_row(tmp_path: Path) -> None:
    workers = (
        GeneratorWorker(1, "gen-a_1", "gen-a", 1200, 3, 41.0, 97.0, True, 0.0),
        GeneratorWorker(2, "gen-b_2", "gen-b", 800, 0, 30.0, 35.0, False, -30.0, 12.0),
    )
    [html] = HtmlReporter().write(dataclasses.replace(_summary(), generators=workers), tmp_path)
    text = html.read_text()
    table = text[
        text.index('id="generators"') : text.index("</table>", text.index('id="generators"'))
    ]
    assert table.count("<tr>") == 3  # the header and one per worker
    assert "gen-a" in table
    assert "1,200" in table
    assert "saturated" in table
    assert "lost 12s into the run" in table
    assert "-30.0 s" in table
    (tmp_path / "k6").mkdir()
    [plain] = HtmlReporter().write(_summary(), tmp_path / "k6")
    assert 'id="generators"' not in plain.read_text()  # no Locust workers, no table


def test_absent_monitor_series_become_no_data_charts(browser: str, tmp_path: Path) -> None:
    summary = dataclasses.replace(
        _summary(),
        monitor=MonitorData(
            interval_s=1.0,
            sources={"app": "no /metrics at http://127.0.0.1:1/metrics: 404"},
            samples=tuple(
                {"t_s": p.t_s + 0.5, "target_cpu_percent": 10.0} for p in _summary().timeline
            ),
            summary={},
        ),
    )
    [html] = HtmlReporter().write(summary, tmp_path)

    tools, charts = _open_report(browser, html, tmp_path / "no-monitor.png")

    assert tools.errors() == []
    for chart_id in ("memory", "db_pool", "locks", "cache"):
        assert charts[chart_id]["empty"], chart_id
        assert "no data" in charts[chart_id]["title"]
        assert charts[chart_id]["width"] == 0
    for chart_id in ("users", "rps", "latency", "cpu"):
        assert not charts[chart_id]["empty"]
        assert charts[chart_id]["inked"] > 500, chart_id


def test_many_long_errors_keep_the_page_small(tmp_path: Path) -> None:
    summary = _summary()
    errors = tuple(
        ErrorGroup("POST", "/api/v1/workspaces", f"HTTP 500 #{i}: " + "x" * 5_000, i + 1)
        for i in range(2_000)
    )
    summary = dataclasses.replace(summary, errors=errors)

    [html] = HtmlReporter().write(summary, tmp_path)

    text = html.read_text()
    assert html.stat().st_size < 400_000
    assert "1,900 less frequent error messages are in summary.json" in text
    assert "HTTP 500 #1999: " in text  # the most frequent comes first
    assert "HTTP 500 #0: " not in text


def test_a_run_without_data_renders_without_errors(browser: str, tmp_path: Path) -> None:
    summary = dataclasses.replace(
        _summary(),
        timeline=(),
        endpoints=(),
        errors=(),
        monitor=MonitorData(1.0, {}, (), {}),
    )
    [html] = HtmlReporter().write(summary, tmp_path)

    tools, charts = _open_report(browser, html, tmp_path / "empty.png")

    assert tools.errors() == []
    assert charts
    assert all(chart["empty"] for chart in charts.values())


def _compared(factor: float) -> RunSummary:
    """A run compared with three seeded baseline runs, with a trend that steps up at its end."""
    baseline = [synthetic_run(f"base-{n}", seed=n) for n in range(3)]
    current = synthetic_run("current", seed=10, factor=factor)
    found = compare(
        RunData.from_summary(current),
        [RunData.from_summary(run) for run in baseline],
        parse_limits(["p50 +10%", "p95 +10%", "throughput -5%"]),
        judged=True,
        baseline_kind="default",
    )
    trend_rows = [
        {
            "run_id": run.run_id,
            "started_at": run.started_at,
            "totals": dataclasses.asdict(run.totals),
        }
        for run in [*baseline, *baseline, current, current, current]
    ]
    found.series["trend"] = trend(trend_rows).to_dict()
    return dataclasses.replace(current, comparison=found)


def test_comparison_section_draws_overlay_trend_and_coloured_changes(
    browser: str, tmp_path: Path
) -> None:
    summary = _compared(1.5)
    [html] = HtmlReporter().write(summary, tmp_path)

    queries = {
        "drawn": "document.body.getAttribute('data-comparison-charts-drawn')",
        "colours": """Array.from(document.querySelectorAll('#changes tr.change')).map(
            function (row) {
              return [row.dataset.verdict, getComputedStyle(row.cells[0]).backgroundColor];
            })""",
    }
    tools, charts = _open_report(browser, html, tmp_path / "comparison.png", queries)

    assert tools.errors() == []
    assert tools.answers["drawn"] == "3"
    for chart_id in ("compare-latency", "compare-rps", "trend"):
        assert charts[chart_id]["width"] > 200, chart_id
        assert charts[chart_id]["inked"] > 500, chart_id
    colours = tools.answers["colours"]
    by_verdict: dict[str, set[str]] = {verdict: set() for verdict, _ in colours}
    for verdict, colour in colours:
        by_verdict[verdict].add(colour)
    assert "regressed" in by_verdict
    regressed_colour = by_verdict["regressed"]
    assert len(regressed_colour) == 1
    for verdict, seen in by_verdict.items():
        if verdict != "regressed":
            assert seen.isdisjoint(regressed_colour), verdict
    text = html.read_text()
    assert text.index('id="verdict"') < text.index('id="comparison"') < text.index("Over time")
    assert "base-0, base-1, base-2" in text
    changes = text[text.index('id="changes"') : text.index("</table>", text.index('id="changes"'))]
    assert "] +" not in changes  # the change column holds the change, not the endpoint's name


def test_a_run_without_baseline_has_no_comparison_section(tmp_path: Path) -> None:
    [html] = HtmlReporter().write(_summary(), tmp_path)
    assert 'id="comparison"' not in html.read_text()
