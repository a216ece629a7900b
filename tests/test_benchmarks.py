"""The throughput benchmark's own helpers (benchmarks/throughput.py) on canned input, so that the script does not
rot between runs: wrk's output, the audit accounting, the checkpoint delays, the report. No timing is asserted."""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import throughput as bench

CANNED = """Running 10s test @ http://127.0.0.1:18100/api/v1/requests
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.33ms  120.10ms   1.20s    70.00%
    Req/Sec     8.10      3.20    20.00     75.00%
  160 requests in 10.02s, 1.10MB read
Requests/sec:     15.97
Transfer/sec:    112.40KB
WRK-RESULT {"requests": 160, "duration_us": 10020000, "bytes": 1153000, "sent": 168, "statuses": {"200": 158, "429": 2}, "errors": {"connect": 0, "read": 0, "write": 0, "status": 2, "timeout": 0}, "latency_us": {"min": 120000, "mean": 512330.5, "p50": 498000, "p90": 690000, "p99": 1100000, "p999": 1200000, "max": 1200000}}
"""  # noqa: E501

SCENARIO_1 = next(t for t in bench.TARGETS if t.name == "scenario_1")
DRY_RUN = next(t for t in bench.TARGETS if t.name == "dry_run")


def test_parse_wrk_reads_the_done_callback_line() -> None:
    result = bench.parse_wrk(CANNED)
    assert result.requests == 160
    assert result.duration_s == pytest.approx(10.02)
    assert result.rps == pytest.approx(160 / 10.02)
    assert result.ok == 158
    assert result.non_2xx == 2
    assert result.in_flight == 8
    assert result.socket_errors == 0
    assert result.latency_ms["p50"] == pytest.approx(498.0)
    assert result.latency_ms["p99"] == pytest.approx(1100.0)


def test_parse_wrk_without_the_line_says_so() -> None:
    with pytest.raises(ValueError, match="WRK-RESULT"):
        bench.parse_wrk("Running 10s test\nunable to connect to 127.0.0.1:1 Connection refused\n")


def result(ok: int, *, sent: int, other: int = 0) -> bench.WrkResult:
    statuses = {200: ok, **({500: other} if other else {})}
    latency = dict.fromkeys(("min", "mean", "p50", "p90", "p99", "p999", "max"), 1.0)
    return bench.WrkResult(ok + other, 10.0, sent, statuses, {"connect": 0, "read": 0, "write": 0}, latency)


def test_audit_accounting_accepts_entries_of_answers_and_of_requests_in_flight() -> None:
    run = result(100, sent=108)  # 8 in flight at the stop: the server may have completed and audited them
    for n in (100, 104, 108):
        assert (
            bench.audit_problems(SCENARIO_1, run, {"intent": n, "request": n}, paired=n, outcomes={"released": n}) == []
        )
    assert bench.audit_problems(DRY_RUN, run, {"check": 101}, paired=None, outcomes={"released": 101}) == []


def test_audit_accounting_refuses_a_2xx_without_its_entries() -> None:
    run = result(100, sent=100)
    problems = bench.audit_problems(
        SCENARIO_1, run, {"intent": 99, "request": 99}, paired=99, outcomes={"released": 99}
    )
    assert len(problems) == 2
    assert "99 new 'intent' entries for 100 answers 2xx" in problems[0]


def test_audit_accounting_refuses_more_entries_than_requests_sent() -> None:
    problems = bench.audit_problems(DRY_RUN, result(50, sent=52), {"check": 53}, paired=None, outcomes={"released": 53})
    assert problems == [
        "dry_run: 53 new 'check' entries for 50 answers 2xx (2 in flight at the stop): expected 50 to 52"
    ]


def test_audit_accounting_refuses_unpaired_kinds_and_other_outcomes() -> None:
    run = result(10, sent=12)
    uneven = bench.audit_problems(SCENARIO_1, run, {"intent": 11, "request": 10}, paired=10, outcomes={"released": 10})
    assert any("differ in number" in p for p in uneven)
    unpaired = bench.audit_problems(SCENARIO_1, run, {"intent": 10, "request": 10}, paired=9, outcomes={"released": 10})
    assert any("only 9 of 10 'request' entries have an 'intent'" in p for p in unpaired)
    denied = bench.audit_problems(
        SCENARIO_1, run, {"intent": 10, "request": 10}, paired=10, outcomes={"released": 9, "denied": 1}
    )
    assert any("another outcome than 'released'" in p for p in denied)


def test_the_baseline_writes_no_audit_entries_and_needs_none() -> None:
    baseline = next(t for t in bench.TARGETS if t.app == "baseline")
    assert bench.audit_problems(baseline, result(500, sent=508), {}, paired=None, outcomes={}) == []


def test_checkpoint_delays_take_the_first_checkpoint_covering_each_entry() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    at = [t0 + dt.timedelta(seconds=s) for s in range(6)]
    entries = [(10, at[0]), (11, at[1]), (12, at[2]), (13, at[3])]
    # a checkpoint of size 12 covers indices 0..11; out of order on purpose
    checkpoints = [(13, t0 + dt.timedelta(seconds=9)), (12, t0 + dt.timedelta(seconds=4))]
    assert bench.checkpoint_delays(entries, checkpoints) == [4.0, 3.0, 7.0, None]


def test_first_seen_takes_the_first_sample_past_each_index() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    samples = [(10, t0), (10, t0 + dt.timedelta(seconds=1)), (13, t0 + dt.timedelta(seconds=2))]
    seen = bench.first_seen([9, 10, 12, 13], samples)
    assert seen == [t0, t0 + dt.timedelta(seconds=2), t0 + dt.timedelta(seconds=2), None]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench.percentile(values, 50) == 50.0
    assert bench.percentile(values, 99) == 99.0
    assert bench.percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError):
        bench.percentile([], 50)


def test_statements_are_classified_and_counted_per_request() -> None:
    sql = ["BEGIN", 'SELECT "x" FROM y', 'SAVEPOINT "s1"', "INSERT INTO z", 'RELEASE SAVEPOINT "s1"', "COMMIT"]
    assert bench.classify_statements(sql) == {"transaction": 2, "savepoints": 2, "statements": 2}
    summary = bench.probe_summary([(sql, 1, 5.0), (sql[:2], 0, 7.0)])
    assert summary["all"] == pytest.approx((7 + 2) / 2)
    assert (summary["all_min"], summary["all_max"]) == (2, 7)
    assert summary["transaction"] == pytest.approx(1.5)
    assert summary["health"] == pytest.approx(0.5)
    assert summary["ms_p50"] == pytest.approx(6.0)


def test_the_lua_script_carries_the_request_and_the_json_report() -> None:
    lua = bench.wrk_lua(
        method="POST", path="/api/v1/requests", body='{"a": "b\\"c"}', headers={"Authorization": "Bearer t"}
    )
    assert 'wrk.method = "POST"' in lua
    assert 'wrk.body = "{\\"a\\": \\"b\\\\\\"c\\"}"' in lua
    assert 'wrk.headers["Authorization"] = "Bearer t"' in lua
    assert "WRK-RESULT" in lua and "latency:percentile(99)" in lua


def figures() -> list[bench.SizeFigures]:
    size = bench.SizeFigures(requested=None, trail_before=519, trail_after=700)
    for target in bench.TARGETS:
        rps = 200 if target.app == "baseline" else 20
        tf = bench.TargetFigures(target)
        for _ in range(3):
            tf.rounds.append(
                bench.WrkResult(rps * 10, 10.0, rps * 10 + 8, {200: rps * 10}, {}, {"p50": 30.0, "p99": 90.0})
            )
        size.targets[target.name] = tf
    probe = {"n": 20, "all": 5, "all_min": 5, "all_max": 5, "transaction": 2, "savepoints": 0, "health": 1}
    probe |= {"statements": 2, "ms_p50": 7.0, "sample": ["BEGIN", "INSERT INTO x", "COMMIT"]}
    size.probes = {
        "gateway": {
            "warm": 3,
            "conn_max_age": 600,
            "health_checks": True,
            "targets": {"scenario_1": probe, "dry_run": probe},
            "proofs": {"inclusion": {"tree_size": 600, "n": 30, "ms_p50": 2.0, "ms_p99": 4.0, "queries_max": 3}},
        },
        "baseline": {"warm": 3, "conn_max_age": 600, "health_checks": True, "targets": {"baseline": probe}},
    }
    size.delays = [1.0, 2.0, 6.0]
    size.audit_checked = {"scenario_1": (600, 600)}
    return [size]


def test_the_report_has_the_figures_and_the_ratios() -> None:
    args = bench.parse_args(["--rounds", "3"])
    facts = {"commit": "abc", "machine": "x86_64, 2 CPUs", "PostgreSQL": "15"}
    report = bench.render_report(
        facts=facts,
        load_before="1.00 / 1.00 / 1.00",
        load_after="2.00 / 1.00 / 1.00",
        args=args,
        sizes=figures(),
        verify={"ok": True, "exit_status": 0, "entries_checked": 700, "checkpoints_checked": 3},
        problems=[],
        timings={},
    )
    assert "FAILED" not in report
    assert "| scenario_1 (gateway: POST /api/v1/requests) | 20.0 | 30.0 | 90.0 | 0 | 5 | 2 | 0.10 | 1.00 |" in report
    assert "p99 6.00 s" in report
    assert "inclusion proofs at tree size 600" in report
    assert "`manage.py audit_verify` at the end: passed (700 entries, 3 checkpoints)" in report
    failed = bench.render_report(
        facts=facts, load_before="", load_after="", args=args, sizes=figures(), verify=None, problems=["x"], timings={}
    )
    assert failed.startswith("# Throughput") and "**FAILED**: 1 check(s)" in failed


def test_smoke_settings_fit_ci() -> None:
    args = bench.parse_args(["--smoke", "--sizes", "10000"])
    assert (args.rounds, args.duration, args.size_list) == (1, 2, [])
    assert bench.parse_args(["--sizes", "10_000,100000"]).size_list == [10_000, 100_000]


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = 200 if self.headers.get("Authorization") == "Bearer t" else 401
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tiny_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_runs_the_script_and_reports_what_parse_wrk_reads(tiny_server: int, tmp_path: Path) -> None:
    script = tmp_path / "t.lua"
    script.write_text(bench.wrk_lua(method="POST", path="/x", body="{}", headers={"Authorization": "Bearer t"}))
    command = ["wrk", "-t1", "-c2", "-d1s", "-s", str(script), f"http://127.0.0.1:{tiny_server}/x"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout
    result = bench.parse_wrk(out)
    assert result.requests > 0
    assert result.statuses == {200: result.requests}
    assert result.sent >= result.requests
    assert result.latency_ms["p99"] >= result.latency_ms["p50"] > 0


def test_the_commands_it_starts_are_the_documented_ones() -> None:
    assert bench.gunicorn_command("gateway", 8101)[2:] == [
        "gunicorn", "config.wsgi", "--bind", "127.0.0.1:8101", "--workers", "2", "--worker-class", "sync",
    ]  # fmt: skip
    setup = bench.Setup(argparse.Namespace(pg="postgres://x", gateway_env=["A=1"]), "g", "b", Path("/d"), Path("/l"))
    assert setup.db_url("g") == "postgres://x/g"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (scripts/wrk installs it)")
def test_the_smoke_run_under_concurrent_load_keeps_every_audit_guarantee(tmp_path: Path) -> None:
    """The bounded share of the benchmark in CI: the gateway under gunicorn with 8 concurrent connections, then its
    checks, none of them about time: every answer 2xx, the new audit entries match the 2xx answers, a signed
    checkpoint covers the load, ``audit_verify`` passes. Concurrent appends are where the audit head's lock must
    hold (a 503 here once meant a writer queued behind another had read a stale tree)."""
    import socket
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = tmp_path / "smoke.md"
    command = [
        sys.executable,
        "benchmarks/throughput.py",
        "--smoke",
        "--db-prefix",
        "vd_test_smoke",
        "--port",
        str(port),
        "--broker",
        "redis://127.0.0.1:6379/14",
        "--cache",
        "redis://127.0.0.1:6379/15",
        "--data-dir",
        str(tmp_path / "data"),
        "--output",
        str(report),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    text = report.read_text() if report.exists() else done.stdout
    assert "FAILED" not in text
    assert "audit_verify` at the end: passed" in text
