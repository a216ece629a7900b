"""deploy/ holds the files a multi-node deployment runs (docs/operations.md): they parse, and they name the commands
and settings the gateway expects. scripts/drill runs these very files; this is the check that needs no cluster."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
HAPROXY = DEPLOY / "haproxy" / "veilig-delen.cfg"
POSTGRESQL = DEPLOY / "postgresql" / "veilig-delen.conf"


def drill_module() -> ModuleType:
    """deploy/drill.py, which reads the units as systemd does (the drill starts its processes from them)."""
    spec = importlib.util.spec_from_file_location("deploy_drill", DEPLOY / "drill.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def command(unit: str, **environment: str) -> list[str]:
    argv: list[str] = drill_module().unit_command(unit, environment).argv
    return argv


def test_there_is_a_unit_for_each_process_and_exactly_one_beat() -> None:
    names = [unit.name for unit in UNITS]
    assert names == [
        "veilig-delen-audit-worker.service",
        "veilig-delen-beat.service",
        "veilig-delen-web.service",
        "veilig-delen-worker.service",
    ]
    beats = [unit for unit in UNITS if " beat" in unit.read_text() and "celery -A config beat" in unit.read_text()]
    assert [unit.name for unit in beats] == ["veilig-delen-beat.service"]
    for unit in UNITS:
        text = unit.read_text()
        assert "Restart=always" in text and "EnvironmentFile=/etc/veilig-delen/env" in text
        assert re.search(r"^User=veilig-delen$", text, re.M)  # never root


def test_the_web_unit_runs_gunicorn_on_the_wsgi_application() -> None:
    argv = command("veilig-delen-web.service", VD_BIND="10.0.0.11:8000")
    assert Path(argv[0]).name == "gunicorn" and argv[1] == settings.WSGI_APPLICATION.rsplit(".", 1)[0]
    assert argv[argv.index("--bind") + 1] == "10.0.0.11:8000"
    assert argv[argv.index("--workers") + 1] == "4"  # the unit's default, as systemd applies it


def test_the_workers_serve_the_default_queue_and_the_audit_queue_the_router_uses() -> None:
    from config.celery import AUDIT_TASKS, app, route_task

    default = command("veilig-delen-worker.service")
    audit = command("veilig-delen-audit-worker.service")
    assert default[1:4] == ["-A", "config", "worker"] and audit[1:4] == ["-A", "config", "worker"]
    assert default[default.index("-Q") + 1] == settings.CELERY_TASK_DEFAULT_QUEUE == app.conf.task_default_queue
    (task,) = AUDIT_TASKS
    assert audit[audit.index("-Q") + 1] == route_task(task, (), {}, {})["queue"]  # type: ignore[index]
    assert audit[audit.index("--pool") + 1] == "solo"
    assert command("veilig-delen-worker.service", CELERY_TASK_DEFAULT_QUEUE="vd")[default.index("-Q") + 1] == "vd"
    assert "default@%h" in default and "audit@%h" in audit  # celery's %h, after systemd's %%


def test_the_beat_keeps_its_schedule_in_the_data_directory() -> None:
    argv = command("veilig-delen-beat.service", GATEWAY_DATA_DIR="/srv/vd")
    assert argv[1:4] == ["-A", "config", "beat"]
    assert argv[argv.index("--schedule") + 1] == "/srv/vd/celerybeat-schedule"


def test_systemd_reads_the_units() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    result = subprocess.run([analyze, "verify", *map(str, UNITS)], capture_output=True, text=True, check=False)
    # The release is not installed here; anything else systemd says about a unit is a mistake in it.
    missing = re.compile(r"^\S+: Command /opt/veilig-delen/\.venv/bin/(gunicorn|celery) is not executable")
    problems = [line for line in result.stderr.splitlines() if line.strip() and not missing.match(line)]
    assert problems == []


def haproxy_environment() -> dict[str, str]:
    return {
        **os.environ,
        "VD_HTTPS_BIND": "127.0.0.1:18443",
        "VD_HTTP_BIND": "127.0.0.1:18080",
        "VD_TLS_CERT": str(ROOT / "tests" / "deploy" / "missing.pem"),
        "VD_WEB1": "10.0.0.11:8000",
        "VD_WEB2": "10.0.0.12:8000",
        "VD_HEALTH_HOST": "veilig-delen.example.nl",
        "VD_HAPROXY_SOCKET": "/run/haproxy/veilig-delen.sock",
    }


def test_haproxy_accepts_the_configuration(tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        pytest.skip("haproxy is not installed (scripts/drill installs Debian's)")
    certificate = tmp_path / "certificate.pem"
    key = tmp_path / "key.pem"
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
    subprocess.run(
        [*openssl, "-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )
    (tmp_path / "both.pem").write_text(certificate.read_text() + key.read_text())
    env = {**haproxy_environment(), "VD_TLS_CERT": str(tmp_path / "both.pem")}
    result = subprocess.run([haproxy, "-c", "-f", str(HAPROXY)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.cfg"
    broken.write_text(HAPROXY.read_text().replace("balance leastconn", "balance nonsense"))
    refused = subprocess.run([haproxy, "-c", "-f", str(broken)], env=env, capture_output=True, text=True, check=False)
    assert refused.returncode != 0  # the check can fail


def test_haproxy_probes_readyz_and_never_retries_a_post_that_reached_a_node() -> None:
    text = HAPROXY.read_text()
    assert re.search(r"^\s+http-check send meth GET uri /readyz ", text, re.M)
    assert re.search(r"^\s+http-check expect status 200$", text, re.M)
    assert re.search(r"^\s+retry-on conn-failure empty-response response-timeout$", text, re.M)
    assert re.search(r"^\s+http-request disable-l7-retry unless METH_GET \|\| METH_HEAD \|\| METH_OPTIONS$", text, re.M)
    assert re.search(r"^\s+http-request set-header X-Forwarded-Proto https$", text, re.M)
    assert "option forwardfor" in text  # GATEWAY_TRUSTED_PROXIES=1 counts on it
    assert len(re.findall(r"^\s+server web\d ", text, re.M)) == 2


def postgresql_settings() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in POSTGRESQL.read_text().splitlines():
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("archive_command") else line.strip()
        if line:
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip().strip("'")
    return found


def test_the_postgresql_pair_replicates_synchronously_and_archives_wal() -> None:
    conf = postgresql_settings()
    assert conf["wal_level"] == "replica" and conf["hot_standby"] == "on" and conf["wal_log_hints"] == "on"
    assert conf["synchronous_commit"] == "on"
    assert conf["synchronous_standby_names"] == "ANY 1 (pg_a, pg_b)"
    assert conf["archive_mode"] == "on" and "%p" in conf["archive_command"] and "%f" in conf["archive_command"]
    postgres = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not postgres:
        pytest.skip("PostgreSQL's server is not installed here")
    described = subprocess.run([str(postgres[-1]), "--describe-config"], capture_output=True, text=True, check=True)
    known = {line.split("\t", 1)[0] for line in described.stdout.splitlines()}
    assert set(conf) <= known, set(conf) - known


def test_the_drill_injects_every_fault_of_the_issue_and_reports_every_figure() -> None:
    drill = drill_module()
    names = " / ".join(fault.name for fault in drill.FAULTS)
    for fault in (
        "gateway node",
        "checkpoint signing",
        "webhook delivery",
        "broker stopped",
        "standby promoted",
        "restart of everything",
    ):
        assert fault in names
    figures = {f.__name__ for f in drill.FIGURES}
    assert {"traffic", "trail", "releases", "pending_and_webhooks", "verification", "backup_and_restore"} <= figures
