"""The deployment drill (issue 13): many processes, one machine, faults injected one after another, nothing lost.

``scripts/drill`` runs this with the project's Python. In a folder of its own (``--workdir``), with ports of its own,
it builds what ``deploy/`` describes:

- a PostgreSQL primary (``pg_a`` on 127.0.0.1) and a streaming hot standby (``pg_b`` on 127.0.0.2, made with
  ``pg_basebackup -R``), both including ``deploy/postgresql/veilig-delen.conf`` (synchronous replication, WAL
  archiving into a folder);
- a Redis as broker and shared cache, two gateway nodes (gunicorn, the command line of
  ``deploy/systemd/veilig-delen-web.service``) behind HAProxy with ``deploy/haproxy/veilig-delen.cfg`` (TLS with a
  throw-away certificate), a default worker, an audit worker and one beat (their units' command lines);
- the demo world (``migrate``, ``seed_demo --skip-history``), a base backup, and a webhook receiver for
  veilig-thuis-rr.

The web and worker processes find the primary through a libpq multi-host ``DATABASE_URL``
(``postgres://...@127.0.0.1,127.0.0.2:PORT/...?target_session_attrs=read-write``): libpq tries the hosts in order
and keeps the first that accepts writes, so after a promotion the next connection of each process goes to the new
primary; nothing else (no proxy, no agent) needs to know which node is primary.

Partner clients then drive bounded load through the load balancer (requests, dry runs, holder decisions,
consents, and a partner that keeps every checkpoint it sees) while :data:`FAULTS` are injected one after another.
Each client behaves as a partner should: it retries a connection error, a 429 or a 5xx with the same
``Idempotency-Key``. At the end the drill waits for the outbox and the checkpoints to catch up, computes
:data:`FIGURES` from the clients' records and the database, runs ``audit_verify``, then the backup and restore
drill, prints the table and exits 1 if any figure of harm is not 0.

Other checks join by appending to :data:`FAULTS` (a :class:`Fault`) or :data:`FIGURES` (a function of the finished
:class:`Drill` returning :class:`Figure` rows).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
INSTALLED_AT = "/opt/veilig-delen"  # where the units expect the release; the drill runs this checkout instead
PG_OS_USER = "postgres"  # PostgreSQL's server programs refuse to run as root: as root, the drill runs them as this user
AS_ROOT = os.geteuid() == 0
DATABASE = "veilig_delen"
WEBHOOK_SECRET_ENV = "VD_WEBHOOK_SECRET_DRILL"  # noqa: S105 - the name of a variable
LOAD_SECONDS_BETWEEN_FAULTS = 12
PARTNER_PATIENCE = 90.0  # seconds a client keeps retrying one call before it counts as unanswered

# The demo world (shared/spec/demo-world.md) as the partners use it.
MARK, LOTTE, YOUSSEF = "999990019", "999990032", "999990056"
ASK_POLICE = {
    "subject": {"bsn": MARK},
    "categories": ["police_incidents", "house_ban"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}
ASK_SCHOOL = {
    "subject": {"bsn": LOTTE},
    "categories": ["school_attendance"],
    "purpose": "vt_safety_assessment",
    "providers": {"school_attendance": "school-regenboog"},
}


def say(message: str) -> None:
    print(f"drill {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], seconds: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return True
        time.sleep(interval)
    return False


# --- The deploy files, read as systemd would -----------------------------------------------------------------


@dataclass(frozen=True)
class UnitCommand:
    """A unit's ExecStart as systemd would run it: the words, and the environment its Environment= lines set."""

    argv: list[str]
    environment: dict[str, str]


def unit_command(unit: str, environment: dict[str, str]) -> UnitCommand:
    """Read ``deploy/systemd/<unit>``: ``Environment=`` defaults, overridden by ``environment`` (what the
    EnvironmentFile would hold), expanded into ``ExecStart`` (``${NAME}``, ``%%``); the venv of the install path
    becomes this Python's."""
    defaults: dict[str, str] = {}
    exec_start = None
    section = ""
    for raw in (DEPLOY / "systemd" / unit).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]" or not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if key == "Environment":
            for item in shlex.split(value):
                name, _, setting = item.partition("=")
                defaults[name] = setting
        elif key == "ExecStart":
            exec_start = value
    if exec_start is None:
        raise ValueError(f"{unit}: no ExecStart")
    values = {**defaults, **environment}
    argv = [
        re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], word).replace("%%", "%")
        for word in shlex.split(exec_start)
    ]
    if argv[0].startswith(f"{INSTALLED_AT}/.venv/bin/"):
        argv[0] = str(VENV_BIN / Path(argv[0]).name)
    return UnitCommand(argv, {name: values[name] for name in defaults})


# --- Processes ----------------------------------------------------------------------------------------------


class Service:
    """A process group the drill started (as systemd would, with its own session), killable as one."""

    def __init__(self, drill: Drill, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.drill, self.name, self.argv, self.env = drill, name, argv, env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = drill.workdir / "logs" / f"{name}.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - argv from the deploy files
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with (self.drill.workdir / "pgids").open("a") as pgids:
            pgids.write(f"{self.process.pid}\n")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """kill -9 of the whole process group (a gunicorn master and its workers, a celery worker and its pool)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            self._reap()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            say(f"{self.name} did not stop within {timeout:.0f} s; killing it")
        self._reap()

    def _reap(self) -> None:
        if self.process is not None:  # anything left in the group (a pool child) goes too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)


def as_postgres(*argv: str | Path, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    """A PostgreSQL server program as the postgres OS user (initdb, pg_ctl and pg_rewind refuse root)."""
    words = [str(a) for a in argv]
    if AS_ROOT:
        words = ["runuser", "-u", PG_OS_USER, "--", *words]
    result = subprocess.run(words, capture_output=True, text=True, check=False)  # noqa: S603
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(words)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    if not quiet and result.returncode != 0:
        say(f"{Path(words[-1]).name}: {result.stderr.strip()[-300:]}")
    return result


def give_to_postgres(path: Path) -> None:
    if AS_ROOT:
        shutil.chown(path, PG_OS_USER, PG_OS_USER)


PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), default=Path("/usr/bin"))


class PgNode:
    """One PostgreSQL node of the pair. Its identity (address, port, cluster_name) is given on pg_ctl's command
    line, so that the configuration files, which pg_basebackup and pg_rewind copy from the other node, are the
    same on both: ``deploy/postgresql/veilig-delen.conf`` and the drill's folders (``drill.conf``)."""

    def __init__(self, drill: Drill, name: str, host: str, port: int) -> None:
        self.drill, self.name, self.host, self.port = drill, name, host, port
        self.data = drill.workdir / "pg" / name
        self.sockets = drill.workdir / "pg" / f"{name}-sockets"
        self.log = drill.workdir / "pg" / f"{name}.log"  # written by the postgres user

    def options(self) -> str:
        return (
            f"-c port={self.port} -c listen_addresses={self.host} -c cluster_name={self.name} "
            f"-c unix_socket_directories={self.sockets}"
        )

    def initdb(self) -> None:
        as_postgres(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"
        )
        with (self.data / "pg_hba.conf").open("a", encoding="utf-8") as hba:  # the nodes listen on 127.0.0.1 to .3
            hba.write("host all all 127.0.0.0/8 trust\nhost replication all 127.0.0.0/8 trust\n")
        self.include_configuration()

    def include_configuration(self) -> None:
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                f"\n# scripts/drill\ninclude '{DEPLOY / 'postgresql' / 'veilig-delen.conf'}'\n"
                f"include '{self.drill.workdir / 'pg' / 'drill.conf'}'\n"
            )

    def start(self) -> None:
        self.sockets.mkdir(exist_ok=True)
        give_to_postgres(self.sockets)
        as_postgres(
            PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", self.options(), "-w", "-t", "120", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def promote(self) -> None:
        as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-w", "promote")

    def conninfo(self, database: str = DATABASE) -> str:
        return f"host={self.host} port={self.port} user=postgres dbname={database} connect_timeout=5"

    def sql(self, statement: str, database: str = DATABASE) -> str:
        result = subprocess.run(  # noqa: S603
            [
                str(PG_BIN / "psql"),
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.conninfo(database),
                "-c",
                statement,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def in_recovery(self) -> bool:
        return self.sql("SELECT pg_is_in_recovery()", "postgres") == "t"


# --- The webhook receiver (veilig-thuis-rr's endpoint) ---------------------------------------------------------


class WebhookReceiver:
    """Records every signed notification by ``Webhook-Id``; can run a hook while a POST is being received."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.ids: Counter[str] = Counter()
        self.bad_signatures = 0
        self.during_post: Callable[[], None] | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.receive(dict(self.headers), body)
                with contextlib.suppress(OSError):  # the sender may have been killed meanwhile (the drill did it)
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/veilig-delen"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def receive(self, headers: dict[str, str], body: bytes) -> None:
        delivery = headers.get("Webhook-Id", "")
        signed = f"{delivery}.{headers.get('Webhook-Timestamp', '')}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(self.secret.encode(), signed, hashlib.sha256).digest()).decode()
        with self.lock:
            if not hmac.compare_digest(headers.get("Webhook-Signature", ""), expected):
                self.bad_signatures += 1
                return
            self.ids[delivery] += 1
            hook, self.during_post = self.during_post, None
        if hook is not None:
            hook()


# --- Partners ------------------------------------------------------------------------------------------------


@dataclass
class Records:
    """What the partner clients saw, for the figures. Appended from several threads (list.append is atomic)."""

    calls: Counter[str] = field(default_factory=Counter)  # "sent", "answered", "unanswered", per logical call
    statuses: Counter[int] = field(default_factory=Counter)  # every HTTP answer, retries included
    transport_errors: int = 0
    releases: list[dict[str, Any]] = field(default_factory=list)  # 2xx requests and dry runs: id, audit index, hash
    pending_asked: list[dict[str, Any]] = field(default_factory=list)  # 202 requests with their pending categories
    holder_settled: list[dict[str, Any]] = field(default_factory=list)  # items the holder was told were settled
    consents: list[int] = field(default_factory=list)
    checkpoints: dict[int, dict[str, Any]] = field(default_factory=dict)  # the partner's copies, by tree size
    server_errors: list[str] = field(default_factory=list)  # "500 POST /api/v1/requests", for the report


class Partner:
    """A partner system: client credentials, then API calls that retry as a careful partner's do."""

    def __init__(self, drill: Drill, slug: str, scope: str | None = None) -> None:
        import httpx

        self.drill, self.slug, self.scope = drill, slug, scope
        self.http = httpx.Client(base_url=drill.base_url, verify=str(drill.certificate), timeout=60)
        self.token = ""

    def authenticate(self) -> None:
        data = {"grant_type": "client_credentials", **({"scope": self.scope} if self.scope else {})}
        answer = self._send("POST", "/oauth/token/", data=data, auth=(self.slug, f"demo-secret-{self.slug}"))
        if answer is None or answer.status_code != 200:
            raise RuntimeError(f"{self.slug}: no token ({answer.status_code if answer else 'no answer'})")
        self.token = answer.json()["access_token"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One logical call; POSTs carry an Idempotency-Key kept across retries. None when never answered."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if method == "POST":
            headers["Idempotency-Key"] = f"drill-{uuid.uuid4()}"
        return self._send(method, path, json=body, headers=headers)

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        records = self.drill.records
        records.calls["sent"] += 1
        deadline = time.monotonic() + PARTNER_PATIENCE
        tries = 0
        while True:
            tries += 1
            try:
                answer = self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                records.transport_errors += 1
            else:
                records.statuses[answer.status_code] += 1
                if answer.status_code >= 500:
                    records.server_errors.append(f"{answer.status_code} {method} {path.split('?')[0]}")
                if answer.status_code < 500 and answer.status_code != 429:
                    records.calls["answered"] += 1
                    answer.retried = tries > 1  # type: ignore[attr-defined]
                    return answer
            if time.monotonic() > deadline or self.drill.aborting.is_set():
                records.calls["unanswered"] += 1
                return None
            time.sleep(1.0)


def _pause(drill: Drill) -> bool:
    """Between two calls of a client; False once the load is to stop."""
    return not drill.stop_load.wait(random.uniform(0.15, 0.45))


def requester_requests(drill: Drill) -> None:
    """veilig-thuis-rr asks the police for Mark's incidents and house ban: released at once (builtin holders)."""
    vt = drill.partner("veilig-thuis-rr")
    while _pause(drill):
        answer = vt.call("POST", "/api/v1/requests", ASK_POLICE)
        if answer is not None and answer.status_code in (200, 202):
            body = answer.json()
            drill.records.releases.append(
                {
                    "kind": "request",
                    "id": body["id"],
                    **body["audit"],
                    "data": sorted(k for k, v in body["data"].items() if v),
                }
            )


def requester_dry_runs(drill: Drill) -> None:
    vt = drill.partner("veilig-thuis-rr")
    while _pause(drill):
        answer = vt.call("POST", "/api/v1/decisions", ASK_POLICE)
        if answer is not None and answer.status_code == 200:
            drill.records.releases.append({"kind": "check", "id": None, **answer.json()["audit"], "data": []})


def requester_pending(drill: Drill) -> None:
    """veilig-thuis-rr asks the school for Lotte's attendance: the school decides (202, a pending item)."""
    vt = drill.partner("veilig-thuis-rr")
    while _pause(drill) and _pause(drill):
        answer = vt.call("POST", "/api/v1/requests", ASK_SCHOOL)
        if answer is not None and answer.status_code in (200, 202):
            body = answer.json()
            pending = [d["category"] for d in body["decisions"] if d["outcome"] == "pending"]
            drill.records.pending_asked.append({"id": body["id"], "categories": pending})
            drill.records.releases.append({"kind": "request", "id": body["id"], **body["audit"], "data": []})


def holder_decides(drill: Drill) -> None:
    """school-regenboog reads its pending list and approves (every fifth: declines) each item."""
    school = drill.partner("school-regenboog", scope="provider")
    decided = 0
    while _pause(drill):
        listing = school.call("GET", "/api/v1/holder/pending")
        if listing is None or listing.status_code != 200:
            continue
        for item in listing.json()["results"][:5]:
            decided += 1
            decision = "decline" if decided % 5 == 0 else "approve"
            answer = school.call("POST", f"/api/v1/holder/pending/{item['id']}", {"decision": decision})
            if answer is None:
                continue
            # 409 after a retry: the first attempt settled it and its answer was lost with a killed node.
            settled = answer.status_code == 200 or (answer.status_code == 409 and answer.retried)
            if settled:
                drill.records.holder_settled.append(
                    {"item": item["id"], "request": item["request_id"], "decision": decision}
                )


def consent_recorder(drill: Drill) -> None:
    """ggz-rijnmond records Youssef's own explicit consent (health_summary to the municipality, case 0002)."""
    ggz = drill.partner("ggz-rijnmond")
    today = dt.date.today()
    body = {
        "subject": {"bsn": YOUSSEF},
        "given_by": [{"bsn": YOUSSEF, "capacity": "self"}],
        "explicit": True,
        "purposes": ["care_coordination"],
        "recipients": ["gemeente-rotterdam"],
        "categories": ["health_summary"],
        "case_reference": "CHGK-RR-2026-0002",
        "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=180)).isoformat(),
        "evidence": "Consent form signed during the home visit (drill).",
    }
    while _pause(drill) and _pause(drill):
        answer = ggz.call("POST", "/api/v1/consents", body)
        if answer is not None and answer.status_code == 201:
            drill.records.consents.append(int(answer.json()["id"]))


def checkpoint_keeper(drill: Drill) -> None:
    """A partner that fetches the latest signed checkpoint now and then and keeps every one it sees."""
    auditor = drill.partner("politie-rotterdam", scope="audit")
    key = auditor.call("GET", "/api/v1/audit/public-key")
    if key is not None and key.status_code == 200:
        (drill.workdir / "partner" / "public-key.asc").write_text(key.text, encoding="utf-8")
    while not drill.stop_load.wait(2.0):
        drill.keep_checkpoint(auditor)


CLIENTS: list[Callable[[Drill], None]] = [
    requester_requests,
    requester_dry_runs,
    requester_pending,
    holder_decides,
    consent_recorder,
    checkpoint_keeper,
]


# --- Faults --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One injected failure; ``inject`` returns a line on what happened."""

    name: str
    inject: Callable[[Drill], str]


def kill_web_node_mid_request(drill: Drill) -> str:
    found = wait_until(lambda: drill.haproxy_sessions("web1") > 0, 30, interval=0.005)
    in_flight = drill.haproxy_sessions("web1")
    drill.web[0].kill9()
    time.sleep(2)  # RestartSec
    drill.web[0].start()
    back = wait_until(lambda: drill.http_ok(f"http://127.0.0.1:{drill.web_ports[0]}/readyz"), 60)
    return (
        f"web1 killed with {in_flight} request(s) in flight{'' if found else ' (none seen within 30 s)'}; "
        f"restarted, {'ready again' if back else 'NOT ready again'}"
    )


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def kill_audit_worker_while_signing(drill: Drill) -> str:
    """The audit worker runs gpg as its child while it signs, inside the transaction that holds the checkpoint lock:
    kill -9 it then."""
    worker = drill.workers["audit"]
    caught = wait_until(lambda: any(_command_name(c) == "gpg" for c in _children(worker.pid)), 60, interval=0.002)
    worker.kill9()
    time.sleep(2)
    worker.start()
    when = "while gpg was signing a checkpoint" if caught else "WITHOUT catching a signing"
    return f"audit worker killed {when}; restarted"


def kill_worker_during_webhook(drill: Drill) -> str:
    """The receiver kills the default worker while that worker's POST is being received."""
    worker = drill.workers["default"]
    fired = threading.Event()

    def hook() -> None:
        worker.kill9()
        fired.set()

    drill.receiver.during_post = hook
    caught = fired.wait(60)
    drill.receiver.during_post = None
    if not caught:
        worker.kill9()
    time.sleep(2)
    worker.start()
    return f"default worker killed {'during a webhook POST' if caught else 'WITHOUT catching a webhook'}; restarted"


def broker_down_30_seconds(drill: Drill) -> str:
    drill.redis.stop()
    time.sleep(30)
    drill.redis.start()
    up = wait_until(lambda: drill.redis_ping(), 30)
    return f"redis (broker and cache) stopped for 30 s; {'back' if up else 'NOT back'}"


def primary_fails_standby_promoted(drill: Drill) -> str:
    """The primary stops hard; the standby is promoted; the old primary comes back as its standby (pg_rewind, or a
    new base backup when the rewind cannot be used). Until it is back, commits wait for a synchronous standby."""
    old, new = drill.primary, drill.standby
    old.stop("immediate")
    started = time.monotonic()
    new.promote()
    drill.primary, drill.standby = new, old
    # pg_rewind reads the new timeline from the source's control file, which only the first checkpoint after the
    # promotion writes.
    new.sql("CHECKPOINT", "postgres")
    rewound = as_postgres(
        PG_BIN / "pg_rewind",
        "-D",
        old.data,
        f"--source-server={new.conninfo('postgres')}",
        "--write-recovery-conf",
        check=False,
    )
    how = "pg_rewind"
    try:
        if rewound.returncode != 0:
            raise RuntimeError(rewound.stderr.strip()[-300:])
        old.start()
    except RuntimeError as exc:
        say(f"  {old.name} cannot come back by pg_rewind ({str(exc)[-200:]}); making it anew")
        how = "a new pg_basebackup"
        old.stop("immediate")
        as_postgres("rm", "-rf", old.data)
        drill.base_backup_into(old.data, source=new, standby=True)
        old.start()
    synchronous = wait_until(lambda: drill.synchronous_standby() == old.name, 60)
    return (
        f"{old.name} stopped (immediate), {new.name} promoted; {old.name} back as its standby by {how} "
        f"({'synchronous' if synchronous else 'NOT synchronous'} after {time.monotonic() - started:.0f} s)"
    )


def restart_everything(drill: Drill) -> str:
    started = time.monotonic()
    drill.stop_gateway()
    drill.standby.stop()
    drill.primary.stop()
    drill.primary.start()
    drill.standby.start()
    drill.start_gateway()
    ready = drill.wait_ready()
    took = time.monotonic() - started
    return f"every process stopped and started in order; {'ready' if ready else 'NOT ready'} after {took:.0f} s"


FAULTS: list[Fault] = [
    Fault("kill -9 of a gateway node mid-request", kill_web_node_mid_request),
    Fault("kill -9 of the audit worker during checkpoint signing", kill_audit_worker_while_signing),
    Fault("kill -9 of the default worker during a webhook delivery", kill_worker_during_webhook),
    Fault("broker stopped for 30 s", broker_down_30_seconds),
    Fault("primary stopped, standby promoted", primary_fails_standby_promoted),
    Fault("restart of everything", restart_everything),
]


# --- The drill -----------------------------------------------------------------------------------------------


class Drill:
    """The whole run: its folder, ports, processes, partner records and results."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        for folder in ("logs", "data", "partner", "redis", "pg", "archive", "backup"):
            (workdir / folder).mkdir(parents=True, exist_ok=True)
        for folder in ("pg", "archive", "backup"):
            give_to_postgres(workdir / folder)
        workdir.chmod(0o755)
        self.pg_port = free_port()
        self.web_ports = [free_port(), free_port()]
        self.front_port, self.plain_port, self.redis_port = free_port(), free_port(), free_port()
        self.base_url = f"https://localhost:{self.front_port}"
        self.certificate = workdir / "tls" / "certificate.pem"
        self.primary = PgNode(self, "pg_a", "127.0.0.1", self.pg_port)
        self.standby = PgNode(self, "pg_b", "127.0.0.2", self.pg_port)
        self.records = Records()
        self.stop_load = threading.Event()
        self.aborting = threading.Event()
        self.receiver = WebhookReceiver(secret=f"drill-{uuid.uuid4()}")
        self.fault_notes: list[tuple[str, str]] = []
        self.entries_at_start = 0
        self.results: dict[str, Any] = {}
        self.services: list[Service] = []
        self.env = self._environment()
        self.redis = self._service(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(workdir / "redis"),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
            ],
            os.environ.copy(),
        )
        self.haproxy = self._service(
            "haproxy",
            ["haproxy", "-db", "-f", str(DEPLOY / "haproxy" / "veilig-delen.cfg")],
            {
                **os.environ,
                "VD_HTTPS_BIND": f"127.0.0.1:{self.front_port}",
                "VD_HTTP_BIND": f"127.0.0.1:{self.plain_port}",
                "VD_TLS_CERT": str(workdir / "tls" / "haproxy.pem"),
                "VD_WEB1": f"127.0.0.1:{self.web_ports[0]}",
                "VD_WEB2": f"127.0.0.1:{self.web_ports[1]}",
                "VD_HEALTH_HOST": "localhost",
                "VD_HAPROXY_SOCKET": str(workdir / "haproxy.sock"),
            },
        )
        self.web = [
            self._unit(f"web{n + 1}", "veilig-delen-web.service", VD_BIND=f"127.0.0.1:{port}", VD_WEB_WORKERS="2")
            for n, port in enumerate(self.web_ports)
        ]
        self.workers = {
            "default": self._unit("worker", "veilig-delen-worker.service", VD_WORKER_CONCURRENCY="2"),
            "audit": self._unit("audit-worker", "veilig-delen-audit-worker.service"),
            "beat": self._unit("beat", "veilig-delen-beat.service"),
        }

    def _environment(self) -> dict[str, str]:
        """The gateway's environment: demo mode (the demo world and its published client secrets), the rest as in
        production behind one TLS proxy."""
        redis = f"redis://127.0.0.1:{self.redis_port}"
        return {
            **os.environ,
            "GATEWAY_DEMO": "1",
            "GATEWAY_DEMO_FORCE": "1",
            "DEBUG": "0",
            "DATABASE_URL": (
                f"postgres://postgres@{self.primary.host},{self.standby.host}:{self.pg_port}/{DATABASE}"
                "?target_session_attrs=read-write&connect_timeout=3"
            ),
            "CELERY_BROKER_URL": f"{redis}/0",
            "CACHE_URL": f"{redis}/1",
            "GATEWAY_DATA_DIR": str(self.workdir / "data"),
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "GATEWAY_TRUSTED_PROXIES": "1",
            "GATEWAY_CLIENT_RATE": "6000/min",
            "GATEWAY_CHECKPOINT_SECONDS": "2",
            "GATEWAY_WEBHOOK_TIMEOUT": "2",
            "GATEWAY_WEBHOOK_REDELIVER_SECONDS": "5",
            # The receiver listens on this machine: allowed here only (demo mode; check --deploy refuses loopback).
            "GATEWAY_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            WEBHOOK_SECRET_ENV: self.receiver.secret,
            "LOG_LEVEL": "WARNING",
        }

    def _service(self, name: str, argv: list[str], env: dict[str, str]) -> Service:
        service = Service(self, name, argv, env)
        self.services.append(service)
        return service

    def _unit(self, name: str, unit: str, **environment: str) -> Service:
        command = unit_command(unit, {**self.env, **environment})
        return self._service(name, command.argv, {**self.env, **command.environment, **environment})

    # --- building it ---

    def manage(
        self, *args: str, database_url: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **({"DATABASE_URL": database_url} if database_url else {})}
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def build(self) -> None:
        say(f"folder {self.workdir}; PostgreSQL {PG_BIN.parent.name} on 127.0.0.1/127.0.0.2:{self.pg_port}")
        (self.workdir / "pg" / "drill.conf").write_text(
            "# The drill's folders and sizes; loaded after deploy/postgresql/veilig-delen.conf\n"
            f"archive_command = 'test ! -f {self.workdir}/archive/%f && cp %p {self.workdir}/archive/%f'\n"
            f"restore_command = 'cp {self.workdir}/archive/%f %p'\n"
            "max_connections = 100\nshared_buffers = 64MB\nwal_keep_size = 256MB\n",
            encoding="utf-8",
        )
        self.primary.initdb()
        # One node alone cannot commit under synchronous replication: until the standby is made the primary runs
        # with an empty synchronous_standby_names (as Patroni's synchronous_mode does with no replica).
        with (self.primary.data / "postgresql.auto.conf").open("a", encoding="utf-8") as auto:
            auto.write("synchronous_standby_names = ''\n")
        self.primary.start()
        self.primary.sql(f"CREATE DATABASE {DATABASE}", "postgres")
        self.tls()
        self.redis.start()
        wait_until(self.redis_ping, 20)
        say("migrate and seed_demo --skip-history")
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("seed_demo", "--skip-history")
        self.manage(
            "shell",
            "-c",
            "from django.db import transaction\n"
            "from consent.models import Organisation\n"
            "from gateway.models import WebhookEndpoint\n"
            "with transaction.atomic():\n"
            "    WebhookEndpoint.objects.update_or_create(\n"
            "        organisation=Organisation.objects.get(slug='veilig-thuis-rr'),\n"
            f"        defaults={{'url': '{self.receiver.url}', 'secret_env': '{WEBHOOK_SECRET_ENV}',\n"
            "                  'active': True})\n",
        )
        say("base backup (pg_basebackup, WAL from the archive)")
        backup = self.workdir / "backup" / "base"
        as_postgres(
            PG_BIN / "pg_basebackup", "-d", self.primary.conninfo("postgres"), "-D", backup, "-X", "none", "-c", "fast"
        )
        self.results["backup_entries"] = self.entries()
        say("standby (pg_basebackup -R); from now on every commit waits for it")
        self.primary.sql("ALTER SYSTEM RESET synchronous_standby_names", "postgres")
        self.primary.sql("SELECT pg_reload_conf()", "postgres")
        self.base_backup_into(self.standby.data, source=self.primary, standby=True)
        self.standby.start()
        if not wait_until(lambda: self.synchronous_standby() == self.standby.name, 60):
            raise RuntimeError("the standby did not become synchronous")
        self.start_gateway()
        if not self.wait_ready():
            raise RuntimeError("the gateway did not become ready behind HAProxy")
        self.entries_at_start = self.entries()

    def base_backup_into(self, target: Path, *, source: PgNode, standby: bool) -> None:
        as_postgres(
            PG_BIN / "pg_basebackup",
            "-d",
            source.conninfo("postgres"),
            "-D",
            target,
            "-X",
            "stream",
            "-c",
            "fast",
            *(["-R"] if standby else []),
        )

    def tls(self) -> None:
        folder = self.workdir / "tls"
        folder.mkdir()
        key = folder / "key.pem"
        subprocess.run(  # noqa: S603
            [
                *shlex.split("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"),
                *("-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(self.certificate)),
            ],
            check=True,
            capture_output=True,
        )
        (folder / "haproxy.pem").write_text(self.certificate.read_text() + key.read_text())

    def start_gateway(self) -> None:
        if not self.redis.alive():
            self.redis.start()
        wait_until(self.redis_ping, 20)
        for service in [*self.web, self.haproxy, *self.workers.values()]:
            service.start()

    def stop_gateway(self) -> None:
        for service in [
            self.workers["beat"],
            self.workers["default"],
            self.workers["audit"],
            self.haproxy,
            *self.web,
            self.redis,
        ]:
            service.stop()

    def wait_ready(self) -> bool:
        return wait_until(
            lambda: (
                all(self.http_ok(f"http://127.0.0.1:{p}/readyz") for p in self.web_ports) and self.haproxy_up() == 2
            ),
            90,
        )

    # --- looking at it ---

    def http_ok(self, url: str) -> bool:
        import httpx

        return httpx.get(url, headers={"Host": "localhost"}, timeout=5).status_code == 200

    def haproxy_stats(self) -> list[dict[str, str]]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.workdir / "haproxy.sock"))
            sock.sendall(b"show stat\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        text = b"".join(chunks).decode().lstrip("# ")
        return list(csv.DictReader(text.splitlines()))

    def haproxy_sessions(self, server: str) -> int:
        rows = self.haproxy_stats()
        return sum(int(r["scur"] or 0) for r in rows if r["pxname"] == "veilig_delen_web" and r["svname"] == server)

    def haproxy_up(self) -> int:
        rows = self.haproxy_stats()
        return sum(
            1
            for r in rows
            if r["pxname"] == "veilig_delen_web" and r["svname"].startswith("web") and r["status"].startswith("UP")
        )

    def redis_ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def synchronous_standby(self) -> str | None:
        row = self.primary.sql(
            "SELECT application_name FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')", "postgres"
        )
        return row.splitlines()[0] if row else None

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.primary.conninfo(), autocommit=True) as connection:
            return connection.execute(cast(Any, statement), params).fetchall()

    def entries(self) -> int:
        return int(self.query("SELECT size FROM audit_audithead WHERE id = 1")[0][0])

    def partner(self, slug: str, scope: str | None = None) -> Partner:
        client = Partner(self, slug, scope)
        client.authenticate()
        return client

    def keep_checkpoint(self, auditor: Partner) -> None:
        answer = auditor.call("GET", "/api/v1/audit/checkpoints/latest")
        if answer is not None and answer.status_code == 200:
            checkpoint = answer.json()
            if checkpoint["tree_size"] not in self.records.checkpoints:
                self.records.checkpoints[checkpoint["tree_size"]] = checkpoint
                path = self.workdir / "partner" / f"checkpoint-{checkpoint['tree_size']:08d}.json"
                path.write_text(json.dumps(checkpoint), encoding="utf-8")

    # --- running it ---

    def run(self) -> None:
        threads = [threading.Thread(target=self._client, args=(client,), name=client.__name__) for client in CLIENTS]
        for thread in threads:
            thread.start()
        say(f"load from {len(threads)} partner clients")
        time.sleep(LOAD_SECONDS_BETWEEN_FAULTS)
        for fault in FAULTS:
            say(f"fault: {fault.name}")
            note = fault.inject(self)
            say(f"  {note}")
            self.fault_notes.append((fault.name, note))
            time.sleep(LOAD_SECONDS_BETWEEN_FAULTS)
        say("stopping the load; waiting for retries to finish")
        self.stop_load.set()
        for thread in threads:
            thread.join(PARTNER_PATIENCE + 30)
        self.settle()

    def _client(self, client: Callable[[Drill], None]) -> None:
        try:
            client(self)
        except Exception as exc:  # a client that breaks down is a finding, not a reason to stop the drill
            self.results.setdefault("client_failures", []).append(f"{client.__name__}: {type(exc).__name__}: {exc}")

    def settle(self) -> None:
        """Let the outbox and the checkpoints catch up, as they must without help: no webhook pending and a
        checkpoint covering the whole trail."""
        say("waiting for the outbox to empty and a checkpoint to cover the trail")
        wait_until(
            lambda: not self.query("SELECT 1 FROM gateway_webhookdelivery WHERE status = 'pending' LIMIT 1"), 150, 2
        )
        wait_until(lambda: self.query("SELECT max(tree_size) FROM audit_checkpoint")[0][0] == self.entries(), 60, 1)
        self.keep_checkpoint(self.partner("politie-rotterdam", scope="audit"))
        verified = self.manage("audit_verify", "--json", check=False)
        self.results["audit_verify"] = (
            json.loads(verified.stdout.strip().splitlines()[-1])
            if verified.stdout.strip()
            else {"ok": False, "failure": verified.stderr[-300:]}
        )
        files = sorted(str(p) for p in (self.workdir / "partner").glob("checkpoint-*.json"))
        checked = self.manage(
            "audit_checkpoint_check",
            *files,
            "--public-key",
            str(self.workdir / "partner" / "public-key.asc"),
            check=False,
        )
        self.results["partner_checkpoints"] = len(files)
        self.results["partner_checkpoint_failures"] = [
            line for line in checked.stderr.splitlines() if line.startswith("FAILED")
        ]
        if checked.returncode not in (0, 1):
            self.results["partner_checkpoint_failures"].append(checked.stderr.strip()[-300:])

    # --- backup and restore (item 5) ---

    def restore_drill(self) -> None:
        """Restore the base backup twice into fresh data folders: with the whole WAL archive (it must hold the whole
        trail) and only to the end of the backup (older than the published checkpoints: it must be caught)."""
        closed = self.primary.sql("SELECT pg_walfile_name(pg_switch_wal())", "postgres")
        if not wait_until(lambda: (self.workdir / "archive" / closed).exists(), 60, 1):
            say(f"WAL segment {closed} was not archived within 60 s")
        latest = max((p for p in (self.workdir / "partner").glob("checkpoint-*.json")), default=None)
        key = self.workdir / "partner" / "public-key.asc"
        live_entries = self.entries()
        for name, target, expect in (
            ("restore-latest", "", "consistent"),
            ("restore-old", "recovery_target = 'immediate'\n", "shorter"),
        ):
            node = PgNode(self, name.replace("-", "_"), "127.0.0.3", free_port())
            as_postgres("cp", "-a", self.workdir / "backup" / "base", node.data)
            (node.data / "recovery.signal").touch()
            give_to_postgres(node.data / "recovery.signal")
            with (node.data / "postgresql.auto.conf").open("a") as auto:
                auto.write(
                    "# a restore: its own timeline stays out of the archive, and it commits without a standby\n"
                    f"archive_mode = off\nsynchronous_standby_names = ''\nrecovery_target_action = 'promote'\n{target}"
                )
            node.start()
            try:

                def promoted(restored: PgNode = node) -> bool:
                    return not restored.in_recovery()

                wait_until(promoted, 120, 1)
                url = f"postgres://postgres@{node.host}:{node.port}/{DATABASE}"
                entries = int(node.sql("SELECT size FROM audit_audithead WHERE id = 1"))
                verified = self.manage("audit_verify", database_url=url, check=False)
                checked = (
                    self.manage(
                        "audit_checkpoint_check", str(latest), "--public-key", str(key), database_url=url, check=False
                    )
                    if latest
                    else None
                )
                said = (checked.stdout + checked.stderr).splitlines() if checked else ["no partner checkpoint"]
                message = " ".join(line for line in said if line.startswith(("OK ", "FAILED ", "no "))) or "\n".join(
                    said
                )
                self.results[name] = {
                    "entries": entries,
                    "live_entries": live_entries,
                    "audit_verify": verified.returncode == 0,
                    "check_exit": checked.returncode if checked else None,
                    "check_message": message,
                    "expected": expect,
                }
                say(f"{name}: {entries} entries; {message[:200]}")
            finally:
                node.stop("fast")

    # --- tearing it down ---

    def teardown(self) -> None:
        self.aborting.set()
        self.stop_load.set()
        for service in reversed(self.services):
            with contextlib.suppress(Exception):
                service.stop(timeout=10)
        for node in (self.standby, self.primary):
            with contextlib.suppress(Exception):
                node.stop("immediate")
        gnupg = str(self.workdir / "data" / "gnupg")
        subprocess.run(  # noqa: S603
            ["gpgconf", "--homedir", gnupg, "--kill", "all"],  # noqa: S607
            capture_output=True,
            check=False,
        )
        self.receiver.server.shutdown()


# --- Figures -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One row of the table. ``harm``: a figure that must be 0 (or an outcome that must hold, ``ok``)."""

    name: str
    value: int | str
    harm: bool = False
    ok: bool = True

    @property
    def failed(self) -> bool:
        return (self.harm and self.value != 0) or not self.ok


def traffic(drill: Drill) -> list[Figure]:
    r = drill.records
    server_errors = sum(n for status, n in r.statuses.items() if status >= 500)
    internal = r.statuses.get(500, 0)
    return [
        Figure("requests sent (logical calls, each retried with its Idempotency-Key)", r.calls["sent"]),
        Figure("requests answered", r.calls["answered"]),
        Figure("HTTP answers, retries included", sum(r.statuses.values())),
        Figure("5xx seen (502/503/504 from a dead node or the database outage; retried)", server_errors - internal),
        Figure("connection errors seen (retried)", r.transport_errors),
        Figure("500 internal errors", internal, harm=True),
        Figure("requests never answered after retrying for 90 s", r.calls["unanswered"], harm=True),
        Figure("client threads that broke down", len(drill.results.get("client_failures", [])), harm=True),
    ]


def trail(drill: Drill) -> list[Figure]:
    size = drill.entries()
    count, highest = drill.query("SELECT count(*), coalesce(max(index), -1) FROM audit_auditentry")[0]
    missing = drill.query(
        "SELECT count(*) FROM generate_series(0, %s) AS g(i) LEFT JOIN audit_auditentry e ON e.index = g.i "
        "WHERE e.index IS NULL",
        (size - 1,),
    )[0][0]
    signed = drill.query("SELECT count(*), coalesce(max(tree_size), 0) FROM audit_checkpoint")[0]
    return [
        Figure("entries written during the drill", size - drill.entries_at_start),
        Figure(
            "gaps (indices below the head without an entry, or head and count apart)",
            int(missing) + abs(size - count) + abs(size - 1 - highest),
            harm=True,
        ),
        Figure("checkpoints signed (all of them)", int(signed[0])),
        Figure("entries not covered by a checkpoint at the end", size - int(signed[1]), harm=True),
        Figure(
            "forks (partner copies of checkpoints the trail does not extend)",
            len(drill.results.get("partner_checkpoint_failures", [])),
            harm=True,
        ),
        Figure("partner copies of checkpoints checked", drill.results.get("partner_checkpoints", 0)),
    ]


def releases(drill: Drill) -> list[Figure]:
    """Every 2xx request and dry run names its entry (index, leaf hash): that entry must be in the trail, and a
    request's must record that request. Every consent answered 201 has its consent entry."""
    without = 0
    for release in drill.records.releases:
        rows = drill.query(
            "SELECT leaf_hash, reference, kind FROM audit_auditentry WHERE index = %s", (release["index"],)
        )
        if not rows or rows[0][0] != release["leaf_hash"] or (release["id"] and rows[0][1] != release["id"]):
            without += 1
    consents_without = sum(
        1
        for consent in drill.records.consents
        if not drill.query(
            "SELECT 1 FROM audit_auditentry WHERE kind = 'consent' AND reference = %s", (f"consent:{consent}",)
        )
    )
    released_data = sum(1 for r in drill.records.releases if r["data"])
    return [
        Figure(
            "2xx requests and dry runs (of which with data released)",
            f"{len(drill.records.releases)} ({released_data})",
        ),
        Figure("releases without an entry (2xx answers whose entry is not in the trail)", without, harm=True),
        Figure("consents recorded (201)", len(drill.records.consents)),
        Figure("consents without their entry", consents_without, harm=True),
    ]


def pending_and_webhooks(drill: Drill) -> list[Figure]:
    lost_items = 0
    for asked in drill.records.pending_asked:
        rows = drill.query("SELECT category FROM gateway_pendingitem WHERE request_id = %s", (asked["id"],))
        lost_items += len(set(asked["categories"]) - {row[0] for row in rows})
    expected = {"approve": "approved", "decline": "declined"}
    unsettled = 0
    for settled in drill.records.holder_settled:
        rows = drill.query("SELECT status FROM gateway_pendingitem WHERE id = %s", (settled["item"],))
        entry = drill.query(
            "SELECT 1 FROM audit_auditentry WHERE kind = 'holder_decision' AND reference = %s", (settled["request"],)
        )
        if not rows or rows[0][0] != expected[settled["decision"]] or not entry:
            unsettled += 1
    deliveries = drill.query("SELECT id, status FROM gateway_webhookdelivery")
    received = drill.receiver.ids
    not_delivered = sum(1 for _, status in deliveries if status != "delivered")
    not_received = sum(1 for delivery, _ in deliveries if delivery not in received)
    approvals = {s["request"] for s in drill.records.holder_settled}
    announced = {
        row[0]
        for row in drill.query(
            "SELECT payload->>'request_id' FROM gateway_webhookdelivery WHERE event = 'request.updated'"
        )
    }
    return [
        Figure("pending items asked for (202)", sum(len(a["categories"]) for a in drill.records.pending_asked)),
        Figure("pending items lost (a 202 without its item)", lost_items, harm=True),
        Figure("holder decisions answered", len(drill.records.holder_settled)),
        Figure("holder decisions lost (answered but not settled, or without entry)", unsettled, harm=True),
        Figure("webhooks written to the outbox / received (distinct ids)", f"{len(deliveries)} / {len(received)}"),
        Figure(
            "webhooks lost (not delivered, not received, or a decision without its notification)",
            not_delivered + not_received + len(approvals - announced),
            harm=True,
        ),
        Figure(
            "webhooks received twice (same Webhook-Id; the receiver drops them)",
            sum(1 for n in received.values() if n > 1),
        ),
        Figure("webhooks with a bad signature", drill.receiver.bad_signatures, harm=True),
    ]


def verification(drill: Drill) -> list[Figure]:
    result = drill.results.get("audit_verify", {})
    text = (
        f"intact ({result.get('entries_checked')} entries, {result.get('checkpoints_checked')} checkpoints)"
        if result.get("ok")
        else f"NOT intact: {result.get('failure')}"
    )
    return [Figure("audit_verify", text, ok=bool(result.get("ok")))]


def backup_and_restore(drill: Drill) -> list[Figure]:
    rows = []
    latest = drill.results.get("restore-latest")
    if latest:
        same = latest["entries"] == latest["live_entries"] and latest["audit_verify"] and latest["check_exit"] == 0
        rows.append(
            Figure(
                "restore of base backup + WAL archive (entries; audit_verify; partner checkpoint)",
                f"{latest['entries']} of {latest['live_entries']}; "
                f"{'intact' if latest['audit_verify'] else 'NOT intact'}; "
                f"{'consistent' if latest['check_exit'] == 0 else 'FAILED'}",
                ok=same,
            )
        )
    old = drill.results.get("restore-old")
    if old:
        caught = old["check_exit"] == 1 and "SHORTER" in old["check_message"]
        rows.append(
            Figure(
                "restore of the base backup alone, older than the partner's checkpoint",
                f"{old['entries']} entries; audit_verify {'intact' if old['audit_verify'] else 'NOT intact'} on its "
                f"own; {'DETECTED by the partner checkpoint' if caught else 'NOT DETECTED'}",
                ok=caught,
            )
        )
    if not rows:
        rows.append(Figure("backup and restore", "not run", ok=False))
    return rows


FIGURES: list[Callable[[Drill], list[Figure]]] = [
    traffic,
    trail,
    releases,
    pending_and_webhooks,
    verification,
    backup_and_restore,
]


def report(drill: Drill, commit: str) -> bool:
    """Print the table; True when every figure of harm is 0 and every outcome holds."""
    rows: list[Figure] = []
    for figure in FIGURES:
        try:
            rows.extend(figure(drill))
        except Exception as exc:
            rows.append(Figure(f"{figure.__name__} could not be computed", f"{type(exc).__name__}: {exc}", ok=False))
    width = max(len(f.name) for f in rows)
    print(f"\nDeployment drill on commit {commit}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print("\nFaults injected, in order:")
    for name, note in drill.fault_notes:
        print(f"  - {name}: {note}")
    print(f"\n  {'figure'.ljust(width)}  value")
    for row in rows:
        mark = "  HARM" if row.failed else ""
        print(f"  {row.name.ljust(width)}  {row.value}{mark}")
    for failure in drill.results.get("client_failures", []):
        print(f"  client failure: {failure}")
    for failure in drill.results.get("partner_checkpoint_failures", []):
        print(f"  {failure}")
    errors = Counter(drill.records.server_errors)
    if errors:
        print("  5xx by call: " + ", ".join(f"{call} x{n}" for call, n in errors.most_common()))
    old = drill.results.get("restore-old")
    if old:
        print(f"\n  the older backup, checked against the partner's checkpoint:\n    {old['check_message']}")
    ok = not any(row.failed for row in rows)
    print(f"\n{'PASS: every figure of harm is 0' if ok else 'FAIL: a figure of harm is not 0 (marked HARM)'}")
    return ok


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a multi-node Veilig Delen on this machine and break it.")
    parser.add_argument("--workdir", type=Path, required=True, help="an empty folder of the drill's own")
    parser.add_argument("--keep", action="store_true", help="leave the folder (logs, data) behind for inspection")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    commit = subprocess.run(  # noqa: S603
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    drill = Drill(args.workdir)
    ok = False
    try:
        drill.build()
        drill.run()
        drill.restore_drill()
        ok = report(drill, commit or "unknown")
    except KeyboardInterrupt:
        say("interrupted")
    except Exception as exc:
        say(f"the drill broke down: {type(exc).__name__}: {exc}")
        with contextlib.suppress(Exception):
            report(drill, commit or "unknown")
    finally:
        say("tearing down")
        drill.teardown()
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
        else:
            say(f"kept {args.workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
