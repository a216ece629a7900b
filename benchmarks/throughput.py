"""Benchmark: requests per second of the gateway's hot path against a bare Django + DRF + OAuth endpoint.

Run from the project root (PostgreSQL on 127.0.0.1:5432 as user ``postgres``, Redis on 127.0.0.1:6379, ``wrk``
on the path)::

    .venv/bin/python benchmarks/throughput.py                      # 3 rounds of 10 s per target, demo trail
    .venv/bin/python benchmarks/throughput.py --rounds 5 --duration 20
    .venv/bin/python benchmarks/throughput.py --sizes 10000,100000,1000000   # the figures at each trail size
    .venv/bin/python benchmarks/throughput.py --smoke              # CI: 1 round of 2 s, under a minute (the
                                                                   # world without its history, no file)

Options (``--help`` lists them all): ``--db-prefix`` (default ``vd_bench_throughput``: the gateway's database,
``<prefix>_baseline`` the baseline's; both are dropped and created again unless ``--reuse-db``), ``--port``
(the gateway listens on it, the baseline on the next one), ``--broker`` and ``--cache`` (Redis URLs; the broker's
database must be for the benchmark alone: its queue is purged when the worker starts), ``--data-dir`` (the gateway's
``GATEWAY_DATA_DIR``, its keyring), ``--connections`` (8), ``--rounds``, ``--duration`` (seconds per round and
target), ``--warmup``, ``--client-rate`` (the gateway's ``GATEWAY_CLIENT_RATE``), ``--conn-max-age`` (600),
``--checkpoint-seconds`` (5), ``--gateway-env KEY=VALUE`` (more environment for the gateway's processes).

What one run does:

1. Creates two PostgreSQL databases: the gateway's (``migrate``, then ``seed_demo``: the demo world with its
   history and a signed checkpoint) and the baseline's (``migrate``, one OAuth application and access token).
2. Starts both under gunicorn with 2 sync workers (``docs/operations.md``), no access log:
   ``gunicorn config.wsgi`` and ``gunicorn benchmarks.baseline.wsgi`` (``benchmarks/baseline/``: one
   endpoint with django-oauth-toolkit's ``OAuth2Authentication``, one serializer, one INSERT in a transaction).
   The gateway runs as production would, with ``DEBUG=0``, except that it is in demo mode
   (``GATEWAY_DEMO=1 GATEWAY_DEMO_FORCE=1``) so that the demo client's credentials are accepted; the rate limit
   is on (``GATEWAY_CLIENT_RATE``, kept in the shared Redis cache ``CACHE_URL``) but high enough not to trip;
   both keep database connections ``DATABASE_CONN_MAX_AGE`` seconds with health checks. A Celery worker with
   beat (``--pool=solo``) signs checkpoints every ``GATEWAY_CHECKPOINT_SECONDS`` during the gateway's rounds.
3. Obtains one token for each: client credentials of the demo client ``veilig-thuis-rr`` at ``/oauth/token/``
   for the gateway; for the baseline, the token written into its database.
4. Counts the SQL statements of one request exactly, in a separate process with the same settings and database:
   ``django.test.Client`` requests under ``CaptureQueriesContext`` (which sees ``BEGIN``/``COMMIT`` too: Django logs
   them), with the connection health check (``SELECT 1``) counted as well. The gateway's probe also times
   inclusion and consistency proofs against the latest checkpoint in process (server time, no HTTP).
5. Drives the targets with wrk (``--connections`` connections, 2 threads, a Lua script for method, body and
   headers that counts the status codes and prints the latency percentiles as JSON), interleaved in rounds
   (``scenario_1 dry_run baseline scenario_1 dry_run baseline ...``) after a warm-up of each:
   ``scenario_1`` is ``POST /api/v1/requests`` (subject 999990019, police_incidents and house_ban for
   vt_safety_assessment in case CHGK-RR-2026-0001 by veilig-thuis-rr: 200, released), ``dry_run`` the same body
   at ``POST /api/v1/decisions``, ``baseline`` the same body at the baseline's ``POST /submissions``.
6. After each gateway run, checks the trail: the new entries of the target's kinds (``intent`` and ``request``,
   paired by reference, for scenario 1; ``check`` for the dry run) equal the 2xx responses. wrk stops with up
   to one request per connection in flight, which the server may still complete and audit, so the check is
   ``2xx <= new entries <= 2xx + in flight`` (in flight: sent but not answered; reported).
7. After the rounds, waits for a checkpoint that covers the last entry and reports the time from each entry
   written under load (``at``) to the ``signed_at`` of the first checkpoint whose ``tree_size`` is larger than
   its index: p50, p99, max. Because ``audit_append`` never lets the trail's time run back, entries written after
   a synthetic fill whose times run ahead of the clock carry that later ``at``; so the same delay is also
   measured from the moment the benchmark first saw each entry committed (it polls the trail's size every 0.1 s
   during the load), and the ``at`` figure is reported as unusable when the two disagree.
8. With ``--sizes``: before each size's rounds, fills the trail up to that many entries
   (``benchmarks.trail.fill_trail``) and repeats 4 to 7 (the baseline again too, so every ratio is from the
   same minutes). At the end, ``manage.py audit_verify`` must pass.
9. Prints a Markdown report (commit, machine, load, per target: requests/s as the median over rounds, p50 and
   p99 latency as the median over rounds, non-2xx, SQL statements per request, and gateway/baseline ratios)
   and writes it to ``benchmarks/results/throughput-<N>.md`` (N: the largest trail size asked for, or ``demo``).

Exit status 1 if any check fails (a non-2xx answer, audit entries that do not match, no covering checkpoint,
``audit_verify``): the report says which. Every process it starts (gunicorn, celery, wrk) runs in its own process
group and is stopped on the way out, also on Ctrl-C or an error.

Speed is measured here, never in timed tests (``docs/performance.md``). ``tests/test_benchmarks.py`` covers the
parsing and accounting helpers below on canned output.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PYTHON = sys.executable

GATEWAY_CLIENT = "veilig-thuis-rr"
GATEWAY_SECRET = f"demo-secret-{GATEWAY_CLIENT}"  # the demo world's published secret (tests/conftest.py)
SCENARIO_1 = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents", "house_ban"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}
MARKER = ".vd-throughput"  # in a data directory this benchmark made, so that it only ever wipes its own


@dataclasses.dataclass(frozen=True)
class Target:
    """One endpoint under load: which app, what to send, and which audit entries each 2xx answer writes."""

    name: str
    app: str  # "gateway" or "baseline"
    path: str
    body: dict[str, Any]
    kinds: tuple[str, ...] = ()  # audit kinds written once per 2xx answer
    paired: bool = False  # the kinds share a reference (intent + request of one request)
    outcome: str | None = None  # the outcome every entry of the last kind must have

    @property
    def label(self) -> str:
        return f"{self.name} ({self.app}: POST {self.path})"


TARGETS = (
    Target("scenario_1", "gateway", "/api/v1/requests", SCENARIO_1, ("intent", "request"), True, "released"),
    Target("dry_run", "gateway", "/api/v1/decisions", SCENARIO_1, ("check",), False, "released"),
    Target("baseline", "baseline", "/submissions", SCENARIO_1),
)


# --- wrk: the Lua script and its output ------------------------------------------------------------------------

LUA = r"""
-- Written by benchmarks/throughput.py. Sends one fixed request, counts sent requests and status codes per thread,
-- and prints one JSON line at the end with the latency percentiles in microseconds.
wrk.method = %(method)s
wrk.path = %(path)s
wrk.body = %(body)s
%(headers)s
local threads = {}
local prepared = nil

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  statuses = {}
  prepared = wrk.format()
end

function request()
  sent = sent + 1
  return prepared
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total_sent = 0
  local codes = {}
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    for code, n in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(codes) do
    table.insert(parts, string.format('"%%d": %%d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "sent": %%d, "statuses": {%%s}, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"min": %%d, "mean": %%.1f, "p50": %%d, "p90": %%d, "p99": %%d, "p999": %%d, "max": %%d}}\n',
    summary.requests, summary.duration, summary.bytes, total_sent, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
"""


def _lua_string(value: str) -> str:
    """A Lua string literal (JSON's escapes are valid Lua escapes for the characters JSON escapes)."""
    return json.dumps(value, ensure_ascii=True)


def wrk_lua(*, method: str, path: str, body: str, headers: dict[str, str]) -> str:
    """The Lua script that makes wrk send this request and report as :func:`parse_wrk` reads."""
    header_lines = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in sorted(headers.items()))
    return LUA % {
        "method": _lua_string(method),
        "path": _lua_string(path),
        "body": _lua_string(body),
        "headers": header_lines,
    }


@dataclasses.dataclass(frozen=True)
class WrkResult:
    """One wrk run as its ``done`` callback reported it; latencies in milliseconds."""

    requests: int  # answers received (any status)
    duration_s: float
    sent: int  # requests written to a socket
    statuses: dict[int, int]
    errors: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def ok(self) -> int:
        """2xx answers."""
        return sum(n for code, n in self.statuses.items() if 200 <= code < 300)

    @property
    def non_2xx(self) -> int:
        return self.requests - self.ok

    @property
    def in_flight(self) -> int:
        """Requests sent but not answered when wrk stopped: the server may still have completed them."""
        return max(0, self.sent - self.requests)

    @property
    def socket_errors(self) -> int:
        return sum(self.errors.get(k, 0) for k in ("connect", "read", "write", "timeout"))


def parse_wrk(output: str) -> WrkResult:
    """Read the ``WRK-RESULT`` line that the script's ``done`` callback printed."""
    for line in output.splitlines():
        if line.startswith("WRK-RESULT "):
            data = json.loads(line[len("WRK-RESULT ") :])
            break
    else:
        raise ValueError("no WRK-RESULT line in wrk's output:\n" + output[-2000:])
    return WrkResult(
        requests=int(data["requests"]),
        duration_s=int(data["duration_us"]) / 1e6,
        sent=int(data["sent"]),
        statuses={int(code): int(n) for code, n in data["statuses"].items()},
        errors={k: int(v) for k, v in data["errors"].items()},
        latency_ms={k: float(v) / 1000 for k, v in data["latency_us"].items()},
    )


# --- The audit accounting and the checkpoint delays ----------------------------------------------------------


def audit_problems(
    target: Target, result: WrkResult, new_by_kind: dict[str, int], *, paired: int | None, outcomes: dict[str, int]
) -> list[str]:
    """What is wrong with the audit entries a gateway run left (empty: all is well).

    Each 2xx answer must have its entries (one of each of ``target.kinds``); a request that wrk had in flight
    when it stopped may have been completed and audited without wrk seeing the answer, so up to ``in_flight``
    more are allowed, never fewer. ``paired``: how many entries of the last kind have a partner of the first kind
    with the same reference; ``outcomes``: the outcomes of the last kind's new entries."""
    problems = []
    low, high = result.ok, result.ok + result.in_flight
    for kind in target.kinds:
        n = new_by_kind.get(kind, 0)
        if not low <= n <= high:
            problems.append(
                f"{target.name}: {n} new '{kind}' entries for {result.ok} answers 2xx "
                f"({result.in_flight} in flight at the stop): expected {low} to {high}"
            )
    counts = {new_by_kind.get(kind, 0) for kind in target.kinds}
    if len(counts) > 1:
        shown = ", ".join(f"{k} {new_by_kind.get(k, 0)}" for k in target.kinds)
        problems.append(f"{target.name}: the kinds of one request differ in number ({shown})")
    if target.paired and target.kinds and paired != new_by_kind.get(target.kinds[-1], 0):
        problems.append(
            f"{target.name}: only {paired} of {new_by_kind.get(target.kinds[-1], 0)} '{target.kinds[-1]}' entries "
            f"have an '{target.kinds[0]}' entry with the same reference"
        )
    if target.outcome is not None and target.kinds:
        wrong = {o: n for o, n in outcomes.items() if o != target.outcome}
        if wrong:
            problems.append(
                f"{target.name}: '{target.kinds[-1]}' entries with another outcome than '{target.outcome}': {wrong}"
            )
    return problems


def checkpoint_delays(
    entries: Sequence[tuple[int, dt.datetime]], checkpoints: Sequence[tuple[int, dt.datetime]]
) -> list[float | None]:
    """Seconds from each entry's time to the signing of the first checkpoint that covers it (``tree_size`` larger
    than the entry's index); ``None`` when no checkpoint covers it yet. ``checkpoints`` in any order."""
    ordered = sorted(checkpoints)
    sizes = [size for size, _ in ordered]
    delays: list[float | None] = []
    for index, at in entries:
        position = bisect.bisect_right(sizes, index)
        if position == len(ordered):
            delays.append(None)
        else:
            delays.append((ordered[position][1] - at).total_seconds())
    return delays


def first_seen(indices: Sequence[int], samples: Sequence[tuple[int, dt.datetime]]) -> list[dt.datetime | None]:
    """When each entry index was first seen committed: the time of the first sample of the trail's size (taken in
    time order; the size only grows) that is larger than the index; ``None`` if no sample was."""
    sizes = [size for size, _ in samples]
    seen: list[dt.datetime | None] = []
    for index in indices:
        position = bisect.bisect_right(sizes, index)
        seen.append(samples[position][1] if position < len(samples) else None)
    return seen


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` from 0 to 100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of nothing")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclasses.dataclass
class TargetFigures:
    """What the rounds of one target at one trail size came to."""

    target: Target
    rounds: list[WrkResult] = dataclasses.field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.rounds)

    def latency(self, key: str) -> float:
        return statistics.median(r.latency_ms[key] for r in self.rounds)

    @property
    def non_2xx(self) -> int:
        return sum(r.non_2xx for r in self.rounds)

    @property
    def socket_errors(self) -> int:
        return sum(r.socket_errors for r in self.rounds)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# --- Processes ----------------------------------------------------------------------------------------------


class HeadWatch(threading.Thread):
    """Samples the trail's size with this machine's clock every ``interval`` seconds while the load runs, so that
    the time each entry was committed is known without trusting its ``at`` (which the trail clamps to
    ``audit_audithead.last_at``: after a synthetic fill that may lie ahead of the clock)."""

    def __init__(self, url: str, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.interval = interval
        self.samples: list[tuple[int, dt.datetime]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with pg_connect(self.url) as conn:
            while not self.halt.is_set():
                size = trail_size(conn)
                self.samples.append((size, dt.datetime.now(dt.UTC)))
                self.halt.wait(self.interval)

    def stop(self) -> None:
        self.halt.set()
        self.join()


class Processes:
    """The servers this run started, each in its own process group, all stopped by :meth:`stop_all`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(  # noqa: S603
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.running[name] = (process, log)
        return process

    def stop(self, name: str) -> None:
        process, _ = self.running.pop(name)
        stop_group(process)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_group(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM to the process's group, SIGKILL if it has not gone after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_child(command: list[str], env: dict[str, str], *, what: str, timeout: float | None = None) -> str:
    """Run a command to its end in its own process group (stopped on Ctrl-C); its stdout, or a loud failure."""
    process = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException:
        stop_group(process, timeout=2)
        raise
    if process.returncode != 0:
        raise BenchmarkError(
            f"{what} failed (exit {process.returncode}):\n{err.decode()[-3000:]}{out.decode()[-2000:]}"
        )
    return out.decode()


class BenchmarkError(Exception):
    """A step could not be done; the run stops and says why."""


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# --- The environment of each app ----------------------------------------------------------------------------


@dataclasses.dataclass
class Setup:
    """Where and how this run's processes run."""

    args: argparse.Namespace
    gateway_db: str
    baseline_db: str
    data_dir: Path
    log_dir: Path
    baseline_token: str = ""

    def db_url(self, name: str) -> str:
        return f"{self.args.pg}/{name}"

    def common_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GATEWAY_", "DATABASE_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            PYTHONDONTWRITEBYTECODE="1",
            DEBUG="0",
            DATABASE_CONN_MAX_AGE=str(self.args.conn_max_age),
            DATABASE_CONN_HEALTH_CHECKS="1" if self.args.health_checks else "0",
            LOG_LEVEL="WARNING",
        )
        env.pop("CACHE_URL", None)
        env.pop("CELERY_BROKER_URL", None)
        return env

    def gateway_env(self) -> dict[str, str]:
        env = self.common_env()
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=self.db_url(self.gateway_db),
            GATEWAY_DATA_DIR=str(self.data_dir),
            GATEWAY_DEMO="1",
            GATEWAY_DEMO_FORCE="1",
            CACHE_URL=self.args.cache,
            CELERY_BROKER_URL=self.args.broker,
            GATEWAY_CLIENT_RATE=self.args.client_rate,
            GATEWAY_CHECKPOINT_SECONDS=str(self.args.checkpoint_seconds),
        )
        for item in self.args.gateway_env:
            key, _, value = item.partition("=")
            env[key] = value
        return env

    def baseline_env(self) -> dict[str, str]:
        env = self.common_env()
        env.update(
            DJANGO_SETTINGS_MODULE="benchmarks.baseline.settings",
            BASELINE_DATABASE_URL=self.db_url(self.baseline_db),
        )
        return env

    def env_for(self, app: str) -> dict[str, str]:
        return self.gateway_env() if app == "gateway" else self.baseline_env()

    def port_for(self, app: str) -> int:
        return self.args.port if app == "gateway" else self.args.port + 1


def gunicorn_command(app: str, port: int) -> list[str]:
    module = "config.wsgi" if app == "gateway" else "benchmarks.baseline.wsgi"
    # docs/operations.md: gunicorn with sync workers; 2 of them here, as issue 12 measures.
    return [PYTHON, "-m", "gunicorn", module, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "sync"]


# --- The databases -------------------------------------------------------------------------------------------


def pg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def databases_prepare(setup: Setup) -> dict[str, float]:
    """Create (or reuse) both databases; migrate and seed them. Returns the seconds each step took."""
    timings: dict[str, float] = {}
    with pg_connect(setup.db_url("postgres")) as admin:
        for name in (setup.gateway_db, setup.baseline_db):
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and not setup.args.reuse_db:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                admin.execute(f'CREATE DATABASE "{name}"')
    started = time.monotonic()
    # The baseline migrates alongside the gateway's preparation.
    baseline = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "django", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT, env=setup.baseline_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        _gateway_prepare(setup)
    except BaseException:
        stop_group(baseline, timeout=2)
        raise
    out, _ = baseline.communicate()
    if baseline.returncode != 0:
        raise BenchmarkError(f"baseline migrate failed:\n{out.decode()[-3000:]}")
    timings["migrate + seed_demo (gateway), migrate (baseline)"] = time.monotonic() - started
    return timings


def _gateway_prepare(setup: Setup) -> None:
    manage = [PYTHON, "manage.py"]
    run_child([*manage, "migrate", "--no-input", "-v", "0"], setup.gateway_env(), what="gateway migrate")
    with pg_connect(setup.db_url(setup.gateway_db)) as conn:
        seeded = conn.execute("SELECT 1 FROM gateway_application WHERE client_id = %s", [GATEWAY_CLIENT]).fetchone()
    if seeded is None:
        seed = [*manage, "seed_demo", *(["--skip-history"] if setup.args.smoke else [])]
        run_child(seed, setup.gateway_env(), what="seed_demo")


def trail_size(conn: Any) -> int:
    return int(conn.execute("SELECT size FROM audit_audithead WHERE id = 1").fetchone()[0])


def trail_quiet(conn: Any, *, settle: float = 0.5, timeout: float = 30) -> int:
    """The trail's size once it has stopped growing (requests in flight at wrk's stop are done)."""
    deadline = time.monotonic() + timeout
    size = trail_size(conn)
    while time.monotonic() < deadline:
        time.sleep(settle)
        now = trail_size(conn)
        if now == size:
            return size
        size = now
    raise BenchmarkError("the audit trail kept growing after the load stopped")


def new_entries(conn: Any, target: Target, start: int, end: int) -> tuple[dict[str, int], int | None, dict[str, int]]:
    """Counts by kind of the entries with ``start <= index < end``, how many of the target's last kind have a
    partner of its first kind with the same reference, and the outcomes of the last kind."""
    rows = conn.execute(
        'SELECT kind, count(*) FROM audit_auditentry WHERE "index" >= %s AND "index" < %s GROUP BY kind', [start, end]
    ).fetchall()
    by_kind = {kind: int(n) for kind, n in rows}
    paired = None
    outcomes: dict[str, int] = {}
    if target.kinds:
        last, first = target.kinds[-1], target.kinds[0]
        if target.paired:
            paired = int(
                conn.execute(
                    'SELECT count(*) FROM audit_auditentry r WHERE r."index" >= %s AND r."index" < %s AND r.kind = %s '
                    'AND EXISTS (SELECT 1 FROM audit_auditentry i WHERE i."index" >= %s AND i."index" < %s '
                    "AND i.kind = %s AND i.reference = r.reference)",
                    [start, end, last, start, end, first],
                ).fetchone()[0]
            )
        rows = conn.execute(
            'SELECT outcome, count(*) FROM audit_auditentry WHERE "index" >= %s AND "index" < %s AND kind = %s '
            "GROUP BY outcome",
            [start, end, last],
        ).fetchall()
        outcomes = {str(o): int(n) for o, n in rows}
    return by_kind, paired, outcomes


# --- The steps -----------------------------------------------------------------------------------------------


def wait_ready(url: str, processes: Processes, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process, _ = processes.running[name]
        if process.poll() is not None:
            raise BenchmarkError(f"{name} exited (status {process.returncode}):\n{processes.log_tail(name)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise BenchmarkError(f"{name} did not answer {url} within {timeout:.0f} s:\n{processes.log_tail(name)}")


def gateway_token(port: int) -> str:
    """Client credentials with HTTP Basic, as a partner system does (tests/conftest.py ``obtain_token``)."""
    basic = base64.b64encode(f"{GATEWAY_CLIENT}:{GATEWAY_SECRET}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/oauth/token/",
        data=b"grant_type=client_credentials",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(json.load(response)["access_token"])


def run_wrk(setup: Setup, target: Target, token: str, seconds: float) -> WrkResult:
    script = setup.log_dir / f"{target.name}.lua"
    script.write_text(
        wrk_lua(
            method="POST",
            path=target.path,
            body=json.dumps(target.body),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
    )
    port = setup.port_for(target.app)
    command = [
        setup.args.wrk,
        "--threads", str(min(2, setup.args.connections)),
        "--connections", str(setup.args.connections),
        "--duration", f"{max(1, round(seconds))}s",
        "--timeout", "30s",
        "--script", str(script),
        f"http://127.0.0.1:{port}{target.path}",
    ]  # fmt: skip
    out = run_child(command, os.environ.copy(), what=f"wrk against {target.name}", timeout=seconds + 60)
    return parse_wrk(out)


def probe(setup: Setup, app: str, token: str, requests: int) -> dict[str, Any]:
    """Run this file's ``_probe`` in a child process with the app's settings (one process for all the app's
    targets); its JSON result, also kept as ``probe-<app>.json`` in the log folder (with the SQL of one request)."""
    env = setup.env_for(app)
    env["THROUGHPUT_PROBE_TOKEN"] = token
    command = [PYTHON, str(Path(__file__).resolve()), "_probe", app, str(requests)]
    out = run_child(command, env, what=f"SQL probe of the {app}")
    for line in out.splitlines():
        if line.startswith("PROBE "):
            (setup.log_dir / f"probe-{app}.json").write_text(line[len("PROBE ") :])
            return dict(json.loads(line[len("PROBE ") :]))
    raise BenchmarkError(f"the probe of the {app} printed no result:\n{out[-2000:]}")


@dataclasses.dataclass
class SizeFigures:
    """Everything measured at one trail size."""

    requested: int | None
    trail_before: int = 0
    trail_after: int = 0
    fill_seconds: float | None = None
    targets: dict[str, TargetFigures] = dataclasses.field(default_factory=dict)
    probes: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    delays: list[float] = dataclasses.field(default_factory=list)  # from each entry's ``at``
    delays_seen: list[float] = dataclasses.field(default_factory=list)  # from when the entry was first seen
    at_ahead: int = 0  # entries whose ``at`` lies after the moment they were seen committed (a clamped clock)
    uncovered: int = 0
    checkpoints_signed: int = 0
    audit_checked: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)  # name: (2xx, entries)
    in_flight: int = 0


def measure_size(setup: Setup, processes: Processes, size: int | None, problems: list[str]) -> SizeFigures:
    args = setup.args
    figures = SizeFigures(requested=size)
    conn = pg_connect(setup.db_url(setup.gateway_db))
    try:
        if size is not None:
            current = trail_size(conn)
            if current < size:
                print(f"# filling the trail from {current} to {size} entries", file=sys.stderr)
                started = time.monotonic()
                run_child([PYTHON, str(Path(__file__).resolve()), "_fill", str(size)], setup.gateway_env(), what="fill")
                figures.fill_seconds = time.monotonic() - started
            elif current > size:
                print(f"# the trail holds {current} entries already (more than {size})", file=sys.stderr)
        token = gateway_token(args.port)
        tokens = {"gateway": token, "baseline": setup.baseline_token}
        for app in ("gateway", "baseline"):
            figures.probes[app] = probe(setup, app, tokens[app], args.probe_requests)
        figures.trail_before = trail_quiet(conn)
        checkpoints_before = int(conn.execute("SELECT count(*) FROM audit_checkpoint").fetchone()[0])
        processes.start("celery", celery_command(setup), setup.gateway_env())
        processes.start("celery-audit", celery_audit_command(setup), setup.gateway_env())
        loaded: list[tuple[int, int]] = []  # [start, end) of the entries written under load
        watch = HeadWatch(setup.db_url(setup.gateway_db))
        watch.start()

        def one_run(target: Target, seconds: float, measured: bool) -> None:
            # Every round starts on a quiet machine: the workers have swept the news flags of the gateway's last
            # round, so that they do not take the cores from the next target (the baseline queues nothing).
            broker_drained(setup, conn)
            start = trail_quiet(conn) if target.app == "gateway" else 0
            result = run_wrk(setup, target, tokens[target.app], seconds)
            what = "warm-up" if not measured else f"round {len(figures.targets[target.name].rounds) + 1}"
            print(
                f"# {target.name} {what}: {result.rps:.1f} req/s, p50 {result.latency_ms['p50']:.1f} ms, "
                f"p99 {result.latency_ms['p99']:.1f} ms, {result.non_2xx} non-2xx",
                file=sys.stderr,
            )
            if sum(result.statuses.values()) != result.requests:
                problems.append(f"{target.name} {what}: status codes counted {result.statuses} for {result.requests}")
            if result.non_2xx or result.socket_errors:
                problems.append(
                    f"{target.name} {what}: {result.non_2xx} non-2xx answers {dict(sorted(result.statuses.items()))}, "
                    f"socket errors {result.errors}"
                )
            if target.app == "gateway":
                end = trail_quiet(conn)
                by_kind, paired, outcomes = new_entries(conn, target, start, end)
                found = audit_problems(target, result, by_kind, paired=paired, outcomes=outcomes)
                problems.extend(f"{p} ({what})" for p in found)
                if not found:
                    ok, entries = figures.audit_checked.get(target.name, (0, 0))
                    figures.audit_checked[target.name] = (ok + result.ok, entries + by_kind.get(target.kinds[-1], 0))
                figures.in_flight += result.in_flight
                loaded.append((start, end))
            if measured:
                figures.targets[target.name].rounds.append(result)

        for target in TARGETS:
            figures.targets[target.name] = TargetFigures(target)
            if args.warmup:
                one_run(target, args.warmup, measured=False)
        try:
            for _ in range(args.rounds):
                for target in TARGETS:
                    one_run(target, args.duration, measured=True)
        finally:
            watch.stop()

        # Item 5: the time from a decision to the checkpoint that covers it.
        last = max(end for _, end in loaded)
        deadline = time.monotonic() + max(60.0, 6 * args.checkpoint_seconds)
        while time.monotonic() < deadline:
            covered = conn.execute("SELECT coalesce(max(tree_size), 0) FROM audit_checkpoint").fetchone()[0]
            if covered >= last:
                break
            time.sleep(0.5)
        entries: list[tuple[int, dt.datetime]] = []
        for start, end in loaded:
            entries += conn.execute(
                'SELECT "index", at FROM audit_auditentry WHERE "index" >= %s AND "index" < %s', [start, end]
            ).fetchall()
        checkpoints = conn.execute(
            "SELECT tree_size, signed_at FROM audit_checkpoint WHERE tree_size > %s", [figures.trail_before]
        ).fetchall()
        delays = checkpoint_delays(entries, checkpoints)
        figures.delays = [d for d in delays if d is not None]
        figures.uncovered = sum(1 for d in delays if d is None)
        seen = first_seen([index for index, _ in entries], watch.samples)
        known = [(e[0], s, e[1]) for e, s in zip(entries, seen, strict=True) if s is not None]
        figures.delays_seen = [
            d for d in checkpoint_delays([(index, s) for index, s, _ in known], checkpoints) if d is not None
        ]
        figures.at_ahead = sum(1 for _, s, at in known if at > s + dt.timedelta(seconds=1))
        for worker in ("celery", "celery-audit"):
            if processes.running[worker][0].poll() is not None:
                problems.append(f"the Celery worker stopped during the rounds:\n{processes.log_tail(worker)}")
        if figures.uncovered:
            problems.append(f"{figures.uncovered} entries written under load had no covering checkpoint after the wait")
        figures.checkpoints_signed = (
            int(conn.execute("SELECT count(*) FROM audit_checkpoint").fetchone()[0]) - checkpoints_before
        )
        processes.stop("celery")
        processes.stop("celery-audit")
        figures.trail_after = trail_quiet(conn)
    finally:
        conn.close()
    return figures


def celery_command(setup: Setup) -> list[str]:
    return [
        PYTHON, "-m", "celery", "-A", "config", "worker", "--beat", "--pool=solo", "--loglevel=WARNING", "--purge",
        "-Q", "celery", "--schedule", str(setup.data_dir / "celerybeat-schedule"),
    ]  # fmt: skip


def celery_audit_command(setup: Setup) -> list[str]:
    """The worker of the audit queue (checkpoints), as production runs it (docs/operations.md)."""
    return [
        PYTHON, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=WARNING", "--purge",
        "-Q", "celery.audit", "-n", "audit@%h",
    ]  # fmt: skip


NEWS_PENDING = "SELECT EXISTS (SELECT 1 FROM gateway_informationrequest WHERE news_pending)"


def broker_drained(setup: Setup, conn: Any = None, *, timeout: float = 120) -> float:
    """Wait until the default queue is empty (the worker has done the tasks queued so far) and, given the gateway's
    database, until the worker has swept the families' news flags (``portal.notifications.news_sweep``, which a
    kicked task runs two seconds after the commit, so an empty queue alone does not say it is done); the seconds
    waited."""
    import redis

    client = redis.Redis.from_url(setup.args.broker)
    started = time.monotonic()

    def busy() -> bool:
        if client.llen("celery"):
            return True
        return conn is not None and bool(conn.execute(NEWS_PENDING).fetchone()[0])

    try:
        while busy() and time.monotonic() - started < timeout:
            time.sleep(0.2)
    finally:
        client.close()
    return time.monotonic() - started


def audit_verify(setup: Setup) -> dict[str, Any]:
    env = setup.gateway_env()
    process = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "audit_verify", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
        check=False, start_new_session=True,
    )  # fmt: skip
    lines = [line for line in process.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    result["exit_status"] = process.returncode
    if process.returncode != 0:
        result["stderr"] = process.stderr[-2000:]
    return result


# --- The report ----------------------------------------------------------------------------------------------


def machine_facts(setup: Setup) -> dict[str, str]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603, S607
        return done.stdout.strip()

    with pg_connect(setup.db_url("postgres")) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    import django
    import oauth2_provider
    import rest_framework

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    return {
        "commit": f"{git('rev-parse', '--short', 'HEAD')} {git('log', '-1', '--format=%s')}{dirty}",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        "PostgreSQL": pg,
        "Python / Django / DRF / DOT": (
            f"{platform.python_version()} / {django.__version__} / {rest_framework.__version__} / "
            f"{oauth2_provider.__version__}"
        ),
        "wrk": _wrk_version(setup.args.wrk),
    }


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    return (done.stdout.splitlines() or ["?"])[0]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _short(sql: str, limit: int = 200) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def render_report(
    *,
    facts: dict[str, str],
    load_before: str,
    load_after: str,
    args: argparse.Namespace,
    sizes: list[SizeFigures],
    verify: dict[str, Any] | None,
    problems: list[str],
    timings: dict[str, float],
) -> str:
    lines = ["# Throughput: the gateway's hot path against a bare DRF endpoint", ""]
    if problems:
        lines += ["**FAILED**: " + str(len(problems)) + " check(s) did not hold:", ""]
        lines += [f"- {p}" for p in problems] + [""]
    lines += ["| | |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in facts.items()]
    lines += [
        f"| load average (1/5/15 min) | before {load_before}, after {load_after} |",
        f"| load | wrk, {args.connections} connections, 2 threads, {args.rounds} round(s) of {args.duration:g} s per "
        f"target after {args.warmup:g} s warm-up, interleaved {' '.join(t.name for t in TARGETS)} |",
        f"| servers | gunicorn, 2 sync workers each; DATABASE_CONN_MAX_AGE={args.conn_max_age}, health checks "
        f"{'on' if args.health_checks else 'off'}; gateway: DEBUG=0 in demo mode (GATEWAY_DEMO=1 "
        f"GATEWAY_DEMO_FORCE=1), GATEWAY_CLIENT_RATE={args.client_rate} in the Redis cache, a Celery worker with "
        f"beat signing every {args.checkpoint_seconds:g} s"
        + (f"; extra env {' '.join(args.gateway_env)}" if args.gateway_env else "")
        + " |",
        "",
    ]
    for figures in sizes:
        title = f"## Trail of {figures.trail_before:,} entries" + (
            f" (asked for {figures.requested:,}; filled in {figures.fill_seconds:.0f} s)"
            if figures.requested is not None and figures.fill_seconds is not None
            else ""
        )
        lines += [title, ""]
        base = figures.targets.get("baseline")
        lines += [
            "| target | requests/s | p50 ms | p99 ms | non-2xx | SQL/request (all) | SQL/request (no BEGIN, "
            "COMMIT, SAVEPOINT, RELEASE, health check) | ratio requests/s (to baseline) | ratio p99 (to baseline) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, tf in figures.targets.items():
            p = figures.probes.get(tf.target.app, {}).get("targets", {}).get(name, {})
            lines.append(
                f"| {tf.target.label} | {tf.rps:.1f} | {_ms(tf.latency('p50'))} | {_ms(tf.latency('p99'))} | "
                f"{tf.non_2xx} | {p.get('all', '?')} | {p.get('statements', '?')} | "
                + (
                    f"{ratio(tf.rps, base.rps):.2f} | {ratio(tf.latency('p99'), base.latency('p99')):.2f} |"
                    if base and name != "baseline"
                    else "1 | 1 |"
                )
            )
        lines.append("")
        lines.append(
            "Requests/s, p50 and p99: the median over the rounds. Per round (requests/s): "
            + "; ".join(
                f"{name} " + ", ".join(f"{r.rps:.1f}" for r in tf.rounds) for name, tf in figures.targets.items()
            )
            + "."
        )
        lines.append("")
        for p in figures.probes.values():
            for name, r in p["targets"].items():
                lines.append(
                    f"- SQL probe, {name} ({r['n']} requests in process after {p['warm']} warm-up, "
                    f"CONN_MAX_AGE={p['conn_max_age']}, CONN_HEALTH_CHECKS={p['health_checks']}): "
                    f"{r['all']} statements per request (min {r['all_min']}, max {r['all_max']}), of which "
                    f"{r['transaction']} BEGIN/COMMIT/ROLLBACK, {r['savepoints']} SAVEPOINT/RELEASE, {r['health']} "
                    f"health check(s); {r['statements']} other statements; in-process time p50 {_ms(r['ms_p50'])} ms."
                )
            for kind, q in (p.get("proofs") or {}).items():
                lines.append(
                    f"- {kind} proofs at tree size {q['tree_size']:,} ({q['n']} in process): p50 "
                    f"{_ms(q['ms_p50'])} ms, p99 {_ms(q['ms_p99'])} ms, {q['queries_max']} statements at most."
                )
        if figures.delays:
            at_based = (
                f"p50 {percentile(figures.delays, 50):.2f} s, p99 {percentile(figures.delays, 99):.2f} s, max "
                f"{max(figures.delays):.2f} s"
                if not figures.at_ahead
                else f"not usable: {figures.at_ahead:,} entries carry an `at` ahead of the clock (the trail's time "
                "was ahead after the fill, and `audit_append` never lets it run back)"
            )
            seen_based = (
                f"p50 {percentile(figures.delays_seen, 50):.2f} s, p99 {percentile(figures.delays_seen, 99):.2f} s, "
                f"max {max(figures.delays_seen):.2f} s"
                if figures.delays_seen
                else "none seen"
            )
            lines.append(
                f"- Checkpoints (item 5): {len(figures.delays):,} entries written under load, "
                f"{figures.checkpoints_signed} checkpoints signed. From an entry's `at` to the `signed_at` of the "
                f"first checkpoint covering it: {at_based}. From the moment the benchmark first saw the entry "
                f"committed (the trail's size polled every 0.1 s) to the same `signed_at`: {seen_based}"
                + (f"; {figures.uncovered} not covered" if figures.uncovered else "")
                + "."
            )
        checked = ", ".join(
            f"{name} {ok:,} answers 2xx / {entries:,} entries" for name, (ok, entries) in figures.audit_checked.items()
        )
        lines.append(
            f"- Audit accounting (every gateway run, warm-up included): {checked or 'none'}; "
            f"{figures.in_flight} request(s) in flight when wrk stopped (completed by the server, audited, unseen "
            f"by wrk). Trail after: {figures.trail_after:,} entries."
        )
        lines.append("")
        for p in figures.probes.values():
            for name, r in p["targets"].items():
                lines += [
                    f"<details><summary>The SQL of one {name} request ({len(r['sample'])} captured)</summary>",
                    "",
                ]
                lines += ["```sql"] + [_short(q) for q in r["sample"]] + ["```", "", "</details>", ""]
    if verify is not None:
        status = "passed" if verify.get("exit_status") == 0 and verify.get("ok", True) else "FAILED"
        lines.append(
            f"`manage.py audit_verify` at the end: {status} ({verify.get('entries_checked', '?')} entries, "
            f"{verify.get('checkpoints_checked', '?')} checkpoints"
            + (f", {verify['seconds']:.1f} s" if "seconds" in verify else "")
            + ")."
        )
        lines.append("")
    if timings:
        lines.append("Preparation: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + ".")
        lines.append("")
    command = " ".join(["benchmarks/throughput.py", *sys.argv[1:]])
    lines.append(f"Command: `{command}`")
    return "\n".join(lines) + "\n"


# --- The in-process probe and the trail fill (child processes) ----------------------------------------------

TRANSACTION_SQL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION)\b", re.IGNORECASE)
SAVEPOINT_SQL = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE)


def classify_statements(sql: Sequence[str]) -> dict[str, int]:
    """Counts of captured statements: transaction control, savepoints, and the rest."""
    transaction = sum(1 for s in sql if TRANSACTION_SQL.match(s))
    savepoints = sum(1 for s in sql if SAVEPOINT_SQL.match(s))
    return {"transaction": transaction, "savepoints": savepoints, "statements": len(sql) - transaction - savepoints}


class HealthChecks:
    """Counts the connection health checks (``CONN_HEALTH_CHECKS``: a ``SELECT 1`` on the first use of the
    connection in a request), which ``CaptureQueriesContext`` does not see. It does see ``BEGIN``, ``COMMIT`` and
    ``ROLLBACK``: Django logs them (``debug_transaction``) where psycopg sends them itself."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.count = 0

    def __enter__(self) -> HealthChecks:
        self._saved = self.connection.is_usable

        def usable() -> bool:
            self.count += 1
            return bool(self._saved())

        self.connection.is_usable = usable
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.is_usable = self._saved


def _probe_main(app: str, n: int) -> None:
    """Child process: for each of the app's targets, ``n`` requests through ``django.test.Client`` with the app's
    real settings and database, each counted exactly; for the gateway also inclusion and consistency proofs.
    Prints one ``PROBE {json}`` line."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    token = os.environ["THROUGHPUT_PROBE_TOKEN"]
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}

    def one(path: str, body: dict[str, Any] | None = None) -> tuple[list[str], int, float]:
        # What the WSGI handler does around a request: close_old_connections at its start and end (the test client
        # leaves that out), so that CONN_MAX_AGE and the health check behave as under gunicorn.
        connection.close_if_unusable_or_obsolete()
        with CaptureQueriesContext(connection) as captured, HealthChecks(connection) as health:
            started = time.perf_counter()
            if body is not None:
                response = client.post(path, json.dumps(body), content_type="application/json", headers=headers)
            else:
                response = client.get(path, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            connection.close_if_unusable_or_obsolete()
        if not 200 <= response.status_code < 300:
            raise SystemExit(f"probe: {path} answered {response.status_code}: {response.content[:500]!r}")
        sql = [q["sql"] for q in captured.captured_queries]
        return sql, health.count, elapsed

    warm = 3
    result: dict[str, Any] = {
        "warm": warm,
        "conn_max_age": connection.settings_dict["CONN_MAX_AGE"],
        "health_checks": connection.settings_dict["CONN_HEALTH_CHECKS"],
        "targets": {},
    }
    for target in TARGETS:
        if target.app != app:
            continue
        for _ in range(warm):
            one(target.path, target.body)
        rows = [one(target.path, target.body) for _ in range(n)]
        result["targets"][target.name] = probe_summary(rows)
    if app == "gateway":
        result["proofs"] = _probe_proofs(one, n)
    print("PROBE " + json.dumps(result, default=str))


def probe_summary(rows: Sequence[tuple[list[str], int, float]]) -> dict[str, Any]:
    """Statements per request over the probe's requests: ``(captured SQL, health checks, milliseconds)`` each."""
    totals = [len(sql) + health for sql, health, _ in rows]
    kinds = [classify_statements(sql) for sql, _, _ in rows]
    return {
        "n": len(rows),
        "all": round(statistics.mean(totals), 1),
        "all_min": min(totals),
        "all_max": max(totals),
        "transaction": round(statistics.mean(k["transaction"] for k in kinds), 1),
        "savepoints": round(statistics.mean(k["savepoints"] for k in kinds), 1),
        "health": round(statistics.mean(r[1] for r in rows), 1),
        "statements": round(statistics.mean(k["statements"] for k in kinds), 1),
        "ms_p50": statistics.median(r[2] for r in rows),
        "sample": rows[-1][0],
    }


def _probe_proofs(one: Any, n: int) -> dict[str, Any]:
    import random

    from audit.models import Checkpoint

    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is None:
        return {}
    size = latest.tree_size
    rng = random.Random(12)
    out = {}
    for kind in ("inclusion", "consistency"):
        times, queries = [], []
        for _ in range(max(n, 30)):
            if kind == "inclusion":
                path = f"/api/v1/audit/proofs/inclusion?index={rng.randrange(size)}&tree_size={size}"
            else:
                path = f"/api/v1/audit/proofs/consistency?first={rng.randrange(1, size + 1)}&second={size}"
            sql, health, elapsed = one(path)
            times.append(elapsed)
            queries.append(len(sql) + health)
        out[kind] = {
            "tree_size": size,
            "n": len(times),
            "ms_p50": statistics.median(times),
            "ms_p99": percentile(times, 99),
            "queries_max": max(queries),
        }
    return out


def _fill_main(target: int) -> None:
    """Child process: fill the gateway's trail up to ``target`` entries (``benchmarks/trail.py``)."""
    import django

    django.setup()
    try:
        from benchmarks.trail import fill_trail  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise SystemExit("benchmarks/trail.py (fill_trail) is not on this branch yet: --sizes needs it") from None
    fill_trail(target, days=0)  # the load that follows writes live entries: keep the trail's time at now


def _baseline_token_main() -> None:
    """Child process: one OAuth application and access token in the baseline's database; prints the token."""
    import django

    django.setup()
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_application_model

    application, _ = get_application_model().objects.get_or_create(
        client_id="baseline-client",
        defaults={
            "name": "baseline",
            "client_type": "confidential",
            "authorization_grant_type": "client-credentials",
        },
    )
    token = secrets.token_urlsafe(30)
    get_access_token_model().objects.create(
        application=application, token=token, expires=timezone.now() + dt.timedelta(days=1), scope="requests"
    )
    print("TOKEN " + token)


# --- The command ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="", help="trail sizes to measure at, e.g. 10000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10, help="seconds per round and target")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per target (0: none)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--probe-requests", type=int, default=20, help="requests in the SQL probe")
    parser.add_argument("--smoke", action="store_true", help="CI: 1 round of 2 s, short probe, nothing written")
    parser.add_argument("--db-prefix", default="vd_bench_throughput")
    parser.add_argument("--reuse-db", action="store_true", help="keep databases that exist (a filled trail)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--cache", default=os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/1"))
    parser.add_argument("--data-dir", default="", help="the gateway's GATEWAY_DATA_DIR (default: in /tmp)")
    parser.add_argument("--port", type=int, default=8101, help="the gateway's port; the baseline's is the next")
    parser.add_argument("--client-rate", default="1000/s", help="GATEWAY_CLIENT_RATE: on, but not tripped")
    parser.add_argument("--conn-max-age", type=int, default=600, help="DATABASE_CONN_MAX_AGE for both apps")
    parser.add_argument("--no-health-checks", dest="health_checks", action="store_false")
    parser.add_argument("--checkpoint-seconds", type=float, default=5)
    parser.add_argument("--gateway-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--wrk", default="wrk")
    parser.add_argument("--output", default="", help="where to write the report (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.duration, args.warmup, args.probe_requests = 1, 2, 0, 5
        args.checkpoint_seconds = min(args.checkpoint_seconds, 2)
        args.sizes = ""
    args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which(args.wrk) is None:
        print(f"throughput: {args.wrk} is not installed", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir or Path(tempfile.gettempdir()) / f"{args.db_prefix}-data")
    if data_dir.exists() and not args.reuse_db:
        if any(data_dir.iterdir()) and not (data_dir / MARKER).exists():
            print(f"throughput: {data_dir} is not empty and not this benchmark's: choose --data-dir", file=sys.stderr)
            return 2
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).touch()
    log_dir = data_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    setup = Setup(args, args.db_prefix, f"{args.db_prefix}_baseline", data_dir, log_dir)
    processes = Processes(log_dir)
    previous = signal.signal(signal.SIGTERM, _terminate)
    problems: list[str] = []
    try:
        load_before = _load()
        facts = machine_facts(setup)
        timings = databases_prepare(setup)
        out = run_child([PYTHON, str(Path(__file__).resolve()), "_baseline_token"], setup.baseline_env(), what="token")
        setup.baseline_token = next(line[6:] for line in out.splitlines() if line.startswith("TOKEN "))
        for app in ("gateway", "baseline"):
            processes.start(f"gunicorn-{app}", gunicorn_command(app, setup.port_for(app)), setup.env_for(app))
        for app in ("gateway", "baseline"):
            wait_ready(f"http://127.0.0.1:{setup.port_for(app)}/healthz", processes, f"gunicorn-{app}")
        sizes = [measure_size(setup, processes, size, problems) for size in (args.size_list or [None])]
        started = time.monotonic()
        verify = audit_verify(setup)
        verify["seconds"] = time.monotonic() - started
        if verify["exit_status"] != 0 or not verify.get("ok", False):
            problems.append(f"audit_verify failed: {verify.get('failure') or verify.get('stderr', '')}")
        report = render_report(
            facts=facts,
            load_before=load_before,
            load_after=_load(),
            args=args,
            sizes=sizes,
            verify=verify,
            problems=problems,
            timings=timings,
        )
    except BenchmarkError as error:
        print(f"throughput: {error}", file=sys.stderr)
        return 1
    finally:
        processes.stop_all()
        signal.signal(signal.SIGTERM, previous)
    print(report)
    if not args.smoke or args.output:
        name = str(max(args.size_list)) if args.size_list else "demo"
        path = Path(args.output) if args.output else RESULTS / f"throughput-{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report)
        print(f"written to {path}", file=sys.stderr)
    if problems:
        print(f"throughput: FAILED, {len(problems)} check(s) did not hold (see the report)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_probe":
        _probe_main(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_fill":
        _fill_main(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_baseline_token":
        _baseline_token_main()
    else:
        sys.exit(main())
