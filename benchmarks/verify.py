"""Benchmark: verification and proofs as the trail grows (issue 12, items 3 and 4; ``docs/performance.md``).

Run from the project root against PostgreSQL (the database is created when missing)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vd_bench_verify .venv/bin/python benchmarks/verify.py \\
        --sizes 10000,100000,1000000

One database grows through the sizes in increasing order: ``migrate``, the demo world, then for each N
:func:`benchmarks.trail.fill_trail` extends the trail to N entries (with every tree node and a signed checkpoint
every ``--checkpoint-every`` entries and at N), and in the same run it measures:

1. **the floor**: SHA-256 of ``0x00 || leaf`` for every leaf and of ``0x01 || left || right`` for every interior
   node of the tree, in one Python loop with :mod:`hashlib` (the leaves are read from the database and encoded
   before the clock starts, chunk by chunk, so reading is not counted);
2. **audit_verify**: :func:`audit.verification.verify_trail` in this process (the time the ratio uses), then
   ``manage.py audit_verify`` as a child process for its wall time and peak memory (maximum resident set size);
3. **the offline verifier**: ``manage.py audit_export`` to a temporary folder, then
   ``python audit/offline_verify.py`` on it as a child process (wall time, peak memory);
4. **proofs**, the server time of each request: ``--proofs`` inclusion proofs of random entries in the tree of
   size N and as many consistency proofs from a random size to N, each a ``GET`` with a real token of scope
   ``audit`` (client credentials of the demo auditor), served by the project's WSGI application
   (``config.wsgi.application``, the object gunicorn loads) in this process, called as a WSGI server calls it.
   The clock runs from the call ``application(environ, start_response)`` until the response's ``close()`` has
   returned, the body read whole in between. So it includes everything the gateway does for the request: the
   ``request_started`` and ``request_finished`` signals (the connection's age check; its health check follows at
   the first query), building the ``WSGIRequest``, every middleware of ``MIDDLEWARE``, URL resolution, DRF (token
   lookup, scope check, the rate limit in the configured cache: Redis when ``CACHE_URL`` names it, as in
   production, else local memory), the view and its queries, rendering, the headers. It leaves out what gunicorn
   does around it: reading and parsing the HTTP request into the environ (prepared before the clock, one per
   request, as gunicorn's sync worker builds it for a request over HTTPS) and writing the answer to the socket.
   ``WARM_UP`` requests of each kind go first, unmeasured, on the same persistent connection. Each answer is
   checked after the clock stops (200, ``Cache-Control: no-store``, the proof verifies against the tree's root).
   The same requests are then served again to count their SQL statements and Django's connection health checks
   (``SELECT 1``, not a statement Django logs); counting wraps the cursor, so it stays off the clock. Reported:
   p50, p99 (nearest rank) and the maximum, the p50 and p99 of this thread's CPU time in each request (without
   PostgreSQL's and Redis's, steadier on a shared machine), and the same for :mod:`audit.tree`'s proof functions
   called alone.

It writes a Markdown report per N to stdout and to ``benchmarks/results/verify-<N>.md``. The ratios (verify /
floor, offline / floor) are the figures to compare; absolute times move with the machine and its load.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from benchmarks.trail import code_state, database_ensure, log, trail_load, world_prepare  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
AUDITOR = "om-rotterdam"  # a demo organisation with the audit scope
FLOOR_CHUNK = 20_000
PROOF_PATHS = {"inclusion": "/api/v1/audit/proofs/inclusion", "consistency": "/api/v1/audit/proofs/consistency"}
WARM_UP = 20  # requests of each kind before the clock: the connection prepares its statements on their second run


@dataclass
class Child:
    """A child process's wall time, CPU time (user + system, with the processes it waited for), peak memory, exit
    status and the end of its output."""

    seconds: float
    cpu: float
    peak_mb: float
    status: int
    output: str


@dataclass
class Timed:
    """Wall-clock and CPU seconds of one measurement."""

    wall: float
    cpu: float


@dataclass
class Proofs:
    kind: str
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # this thread's CPU time of each request
    queries: list[int] = field(default_factory=list)
    health_checks: int = 0  # Django's connection health checks (CONN_HEALTH_CHECKS) over all the counted requests

    def percentile(self, share: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.times_ms if values is None else values)
        return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


@dataclass
class Measured:
    size: int
    load: Any
    floor: Timed
    verify: Timed
    verify_ok: bool
    verify_child: Child
    export: float
    offline: Child
    proofs: list[Proofs]
    proofs_load: float  # the 1-minute load average when the proofs started


def _peak_kb(pid: int) -> int | None:
    """The process's peak resident set size so far (VmHWM, which starts again at exec), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run_child(command: Sequence[str]) -> Child:
    """Run ``command``; its wall time, its own peak resident memory and its output. The peak is read from /proc
    while it runs: ``wait4``'s ru_maxrss would also count this large process's pages that the child shared between
    fork and exec."""
    peak = 0
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        while True:
            peak = max(peak, _peak_kb(process.pid) or 0)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    cpu = usage.ru_utime + usage.ru_stime
    return Child(seconds, cpu, peak / 1024, process.returncode, text.strip()[-500:])


def floor_seconds(repeats: int = 3) -> Timed:
    """The floor: hashlib over every leaf and interior node, in one loop (module docstring). Each chunk of leaves
    is hashed ``repeats`` times from the same tree state and its fastest run counts (wall and CPU separately), so
    that another process taking the CPU for a moment does not lower the bar."""
    from django.db import connection, transaction

    sha256 = hashlib.sha256
    pieces: list[bytes] = []
    size = 0
    wall = cpu = 0.0
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute('SELECT leaf FROM audit_auditentry ORDER BY "index"')
        while rows := cursor.fetchmany(FLOOR_CHUNK):
            leaves = [row[0].encode("utf-8") for row in rows]
            start_pieces, start_size = list(pieces), size
            walls, cpus = [], []
            for _ in range(repeats):
                pieces, size = list(start_pieces), start_size
                started, started_cpu = time.perf_counter(), time.process_time()
                for leaf in leaves:
                    current = sha256(b"\x00" + leaf).digest()
                    index = size
                    while index & 1:
                        current = sha256(b"\x01" + pieces.pop() + current).digest()
                        index >>= 1
                    pieces.append(current)
                    size += 1
                walls.append(time.perf_counter() - started)
                cpus.append(time.process_time() - started_cpu)
            wall += min(walls)
            cpu += min(cpus)
    return Timed(wall, cpu)


def backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine: /proc/<pid>/stat)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def partner_token() -> str:
    """A real OAuth token of the demo auditor, as a partner system obtains it (client credentials)."""
    import base64

    from django.test import Client, override_settings

    basic = base64.b64encode(f"{AUDITOR}:demo-secret-{AUDITOR}".encode()).decode()
    # A world seeded with the production settings hashed the demo secrets with PBKDF2; the test settings know MD5.
    hashers = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", "django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(PASSWORD_HASHERS=hashers):
        response = Client().post(
            "/oauth/token/",
            {"grant_type": "client_credentials", "scope": "audit"},
            HTTP_AUTHORIZATION=f"Basic {basic}",
        )
    if response.status_code != 200:
        raise SystemExit(f"no token for {AUDITOR}: {response.status_code} {response.content[:200]!r}")
    return str(response.json()["access_token"])


def wsgi_environ(path: str, params: dict[str, int], token: str) -> dict[str, Any]:
    """The WSGI environ of ``GET path?params`` with the bearer token, as gunicorn's sync worker builds it for a
    request that reached it over HTTPS (module docstring, item 4)."""
    import io

    query = "&".join(f"{name}={value}" for name, value in params.items())
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": f"{path}?{query}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "SERVER_SOFTWARE": "gunicorn",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "localhost",
        "HTTP_USER_AGENT": "verify.py",
        "HTTP_ACCEPT": "application/json",
        "HTTP_CONNECTION": "keep-alive",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


@dataclass
class Served:
    """One request served by the WSGI application: its server time, the CPU time of this thread in it, status
    line, headers and body."""

    seconds: float
    cpu_seconds: float
    status: str
    headers: dict[str, str]
    body: bytes


def serve(application: Any, environ: dict[str, Any]) -> Served:
    """Call ``application`` as a WSGI server does and time it: from the call to the response's ``close()``, with
    the body read whole in between (module docstring, item 4)."""
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"], answer["headers"] = status, dict(headers)
        return lambda data: None

    started, started_cpu = time.perf_counter(), time.thread_time()
    body = application(environ, start_response)
    try:
        content = b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    seconds, cpu_seconds = time.perf_counter() - started, time.thread_time() - started_cpu
    return Served(seconds, cpu_seconds, answer["status"], answer["headers"], content)


def proof_checked(kind: str, params: dict[str, int], served: Served, root: bytes) -> None:
    """Refuse an answer that is not a valid proof against the tree's root (checked after the clock stops)."""
    import json

    from audit import merkle

    if not served.status.startswith("200 ") or served.headers.get("Cache-Control") != "no-store":
        raise SystemExit(f"{kind} {params}: {served.status} {served.headers} {served.body[:300]!r}")
    body = json.loads(served.body)
    proof = [bytes.fromhex(h) for h in body["proof"]]
    if kind == "inclusion":
        ok = bytes.fromhex(body["root_hash"]) == root and merkle.verify_inclusion(
            bytes.fromhex(body["leaf_hash"]), params["index"], params["tree_size"], proof, root
        )
    else:
        first_root = bytes.fromhex(body["first_root"])
        ok = bytes.fromhex(body["second_root"]) == root and merkle.verify_consistency(
            params["first"], params["second"], first_root, root, proof
        )
    if not ok:
        raise SystemExit(f"{kind} {params}: the answer does not verify: {served.body[:300]!r}")


def statements_counted(application: Any, environs: list[dict[str, Any]]) -> tuple[list[int], int]:
    """Serve each environ again and count its SQL statements (one number per request) and Django's connection
    health checks (``SELECT 1`` on the raw connection, which Django does not log) over all of them."""
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    database = connections["default"]
    usable = database.is_usable
    health_checks = 0

    def counted_health_check() -> bool:
        nonlocal health_checks
        health_checks += 1
        return usable()

    statements = []
    database.is_usable = counted_health_check  # type: ignore[method-assign]
    try:
        for environ in environs:
            with CaptureQueriesContext(connection) as queries:
                serve(application, environ)
            statements.append(len(queries.captured_queries))
    finally:
        del database.is_usable
    return statements, health_checks


def measure_proofs(size: int, count: int, seed: int) -> list[Proofs]:
    """``count`` inclusion and ``count`` consistency proofs at tree size ``size`` through the project's WSGI
    application (``WARM_UP`` of each first): the server time of each request, each answer checked against the
    tree's root; then the same requests again to count their SQL statements and health checks (counting wraps the
    cursor, so it is kept off the clock). Then the same proofs read with :mod:`audit.tree` alone (what the views
    call, without the token check and the rest of the stack)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audit import tree
    from config.wsgi import application

    token = partner_token()
    root = tree.tree_root(size)
    rng = random.Random(seed)
    cases: dict[str, list[dict[str, int]]] = {
        "inclusion": [{"index": rng.randrange(size), "tree_size": size} for _ in range(WARM_UP + count)],
        "consistency": [{"first": rng.randrange(1, size + 1), "second": size} for _ in range(WARM_UP + count)],
    }
    results = []
    for kind, requests in cases.items():
        proofs = Proofs(kind)
        for number, params in enumerate(requests):
            served = serve(application, wsgi_environ(PROOF_PATHS[kind], params, token))
            proof_checked(kind, params, served, root)
            if number >= WARM_UP:
                proofs.times_ms.append(served.seconds * 1000)
                proofs.cpu_ms.append(served.cpu_seconds * 1000)
        environs = [wsgi_environ(PROOF_PATHS[kind], params, token) for params in requests[WARM_UP:]]
        proofs.queries, proofs.health_checks = statements_counted(application, environs)
        results.append(proofs)

    calls = {
        "`tree.inclusion_proof_at` alone": lambda params: tree.inclusion_proof_at(
            params["index"], size, within_trail=True
        ),
        "`tree.consistency_proof_at` alone": lambda params: tree.consistency_proof_at(
            params["first"], size, within_trail=True
        ),
    }
    for (kind, call), requests in zip(calls.items(), cases.values(), strict=True):
        proofs = Proofs(kind)
        for number, params in enumerate(requests):
            started, started_cpu = time.perf_counter(), time.thread_time()
            call(params)
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - started_cpu
            if number >= WARM_UP:
                proofs.times_ms.append(elapsed * 1000)
                proofs.cpu_ms.append(cpu * 1000)
        for params in requests[WARM_UP:]:
            with CaptureQueriesContext(connection) as queries:
                call(params)
            proofs.queries.append(len(queries.captured_queries))
        results.append(proofs)
    return results


def measure(size: int, *, checkpoint_every: int, proofs: int, keep_export: bool) -> Measured:
    from audit.export import audit_export
    from audit.verification import verify_trail

    load = trail_load(size, checkpoint_every=checkpoint_every)
    log(f"[{size:,}] floor ...")
    floor = floor_seconds()
    log(f"[{size:,}] floor {floor.wall:.2f} s; audit_verify in this process ...")
    database_before = backend_cpu()
    started, started_cpu = time.perf_counter(), time.process_time()
    result = verify_trail()
    verify = Timed(time.perf_counter() - started, time.process_time() - started_cpu + backend_cpu() - database_before)
    if not result.ok or result.entries_checked != size:
        raise SystemExit(f"audit_verify failed at {size}: {result}")
    log(f"[{size:,}] audit_verify {verify.wall:.2f} s ({verify.wall / floor.wall:.1f}x); as a command ...")
    verify_child = run_child([sys.executable, "manage.py", "audit_verify"])
    folder = Path(tempfile.mkdtemp(prefix=f"vd-verify-{size}-"))
    try:
        log(f"[{size:,}] export ...")
        started = time.perf_counter()
        audit_export(folder)
        export = time.perf_counter() - started
        log(f"[{size:,}] offline verifier ...")
        offline = run_child([sys.executable, str(ROOT / "audit" / "offline_verify.py"), "--no-progress", str(folder)])
        if offline.status != 0:
            raise SystemExit(f"the offline verifier failed at {size}: {offline.output}")
    finally:
        if not keep_export:
            shutil.rmtree(folder, ignore_errors=True)
    log(f"[{size:,}] offline {offline.seconds:.2f} s ({offline.seconds / floor.wall:.1f}x); proofs ...")
    proofs_load = os.getloadavg()[0]
    measured_proofs = measure_proofs(size, proofs, seed=size)
    return Measured(size, load, floor, verify, result.ok, verify_child, export, offline, measured_proofs, proofs_load)


def facts() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    memory = cpu = ""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return {
        "code": code_state("audit", "gateway/api", "config", "benchmarks", ":!benchmarks/results"),
        "machine": f"{os.cpu_count()} cores ({cpu}), {memory} memory, load average {load[0]:.1f} at the end",
        "python": platform.python_version(),
        "postgresql": f"{version} (shared_buffers {buffers}, settings as installed)",
    }


def cache_kind() -> str:
    """Where the rate limit keeps its counts in this run, for the report."""
    from django.conf import settings

    backend = settings.CACHES["default"]["BACKEND"]
    return "Redis (`CACHE_URL`)" if backend.endswith("RedisCache") else f"`{backend.rsplit('.', 1)[-1]}`"


def report(measured: Measured, facts_: dict[str, str], args: argparse.Namespace) -> str:
    m = measured
    per_leaf = m.floor.wall / m.size * 1e6
    lines = [
        f"# Verification and proofs at {m.size:,} entries",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `benchmarks/verify.py --sizes "
        f"{args.sizes}` (see the module docstring for what is measured).",
        "",
        *(f"- {key}: {value}" for key, value in facts_.items()),
    ]
    if m.load.loaded:
        lines.append(
            f"- load: {m.load.loaded:,} entries in {m.load.seconds:.1f} s, {m.load.checkpoints} checkpoints "
            f"(every {args.checkpoint_every:,} and at {m.size:,})"
        )
    else:
        lines.append("- load: the trail was already at this size")
    lines += [
        "",
        "Ratios to the floor by wall-clock time and by CPU time (this process and its PostgreSQL backend for "
        "`verify_trail()`; the child and the processes it waited for, gpg, for the commands). The machine is shared: "
        "CPU time is the steadier figure when other work takes the cores.",
        "",
        "| measurement | wall | ratio | CPU | ratio | peak memory |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| floor: hashlib over {m.size:,} leaves and {m.size - m.size.bit_count():,} interior nodes "
        f"({per_leaf:.2f} µs a leaf; the fastest of 3 runs of each chunk) | {m.floor.wall:.2f} s | 1.0x | "
        f"{m.floor.cpu:.2f} s | 1.0x | |",
        f"| `verify_trail()` in process: every leaf from its columns, every tree row, every checkpoint | "
        f"{m.verify.wall:.2f} s | **{m.verify.wall / m.floor.wall:.1f}x** | {m.verify.cpu:.2f} s | "
        f"**{m.verify.cpu / m.floor.cpu:.1f}x** | |",
        f"| `manage.py audit_verify` as a command (Django's start included; its database backend's CPU not) | "
        f"{m.verify_child.seconds:.2f} s | {m.verify_child.seconds / m.floor.wall:.1f}x | {m.verify_child.cpu:.2f} s | "
        f"| {m.verify_child.peak_mb:.0f} MB |",
        f"| `manage.py audit_export` (in process) | {m.export:.2f} s | | | | |",
        f"| `python audit/offline_verify.py` on the export | {m.offline.seconds:.2f} s | "
        f"**{m.offline.seconds / m.floor.wall:.1f}x** | {m.offline.cpu:.2f} s | "
        f"**{m.offline.cpu / m.floor.cpu:.1f}x** | {m.offline.peak_mb:.0f} MB |",
        "",
        f"Proofs through the API at tree size {m.size:,} ({len(m.proofs[0].times_ms)} random requests of each after "
        f"{WARM_UP} unmeasured, a real token of scope `audit`): server time, from calling the WSGI application "
        "(`config.wsgi`) with the request's environ to the response's `close()`, the body read in between "
        f"(module docstring, item 4); rate limit in {cache_kind()}; p99 by nearest rank; load average "
        f"{m.proofs_load:.1f} when they started. Every answer verified against the tree's root. CPU: this process's "
        "own, without PostgreSQL's and Redis's, the steadier figure when other work takes the cores.",
        "",
        "| proof | p50 | p99 | max | CPU p50 | CPU p99 | SQL statements per request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for proofs in m.proofs:
        counts = sorted(set(proofs.queries))
        span = str(counts[0]) if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
        if proofs.health_checks:
            checks = proofs.health_checks / len(proofs.queries)
            span += f" (+{checks:g} health check{'' if checks == 1 else 's'})"
        lines.append(
            f"| {proofs.kind} | {statistics.median(proofs.times_ms):.2f} ms | {proofs.percentile(0.99):.2f} ms | "
            f"{max(proofs.times_ms):.2f} ms | {statistics.median(proofs.cpu_ms):.2f} ms | "
            f"{proofs.percentile(0.99, proofs.cpu_ms):.2f} ms | {span} |"
        )
    lines += [
        "",
        f"`audit_verify` output: {m.verify_child.output.splitlines()[-1] if m.verify_child.output else ''}",
        f"offline verifier output: {m.offline.output.splitlines()[0] if m.offline.output else ''}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="trail sizes, increasing (comma-separated)")
    parser.add_argument("--proofs", type=int, default=500, help="requests per kind of proof (default 500)")
    parser.add_argument("--checkpoint-every", type=int, default=100_000, help="entries between signed checkpoints")
    parser.add_argument("--recreate", action="store_true", help="drop and create the (*bench*) database first")
    parser.add_argument("--keep-export", action="store_true", help="keep the export folders (their paths are logged)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if sizes != sorted(sizes):
        raise SystemExit("--sizes must increase: one database grows through them")

    database_ensure(os.environ.get("DATABASE_URL", ""), recreate=args.recreate)
    import django

    django.setup()
    from audit.models import AuditHead

    world_prepare()
    head = AuditHead.objects.get(pk=1).size
    if head > sizes[0]:
        raise SystemExit(f"the trail already holds {head:,} entries, more than {sizes[0]:,}: use --recreate")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        measured = measure(
            size, checkpoint_every=args.checkpoint_every, proofs=args.proofs, keep_export=args.keep_export
        )
        text = report(measured, facts(), args)
        path = RESULTS / f"verify-{size}.md"
        path.write_text(text, encoding="utf-8")
        print(text, flush=True)
        log(f"written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
