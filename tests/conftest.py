"""Shared fixtures: the demo world seeded once per test session, and partner clients with real tokens."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from demo.seed import seed_world


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    """The demo world (demo-world.md) is the test world: seeded once, each test rolls back its own changes."""
    with django_db_blocker.unblock():
        seed_world()


@pytest.fixture(scope="session", autouse=True)
def _api_contract() -> Any:
    """Every API response a test gets is checked against the generated OpenAPI description
    (``tests/gateway/contract.py``): the test that got a response the description does not allow fails."""
    from tests.gateway.contract import install

    uninstall = install()
    yield
    uninstall()


@pytest.fixture(autouse=True)
def _append_only_enforced(request: pytest.FixtureRequest) -> None:
    """Every database test runs with the append-only triggers on, whatever a committed test before it did
    (``committed_world`` pauses them only for pytest-django's flush)."""
    if not {"db", "transactional_db"} & set(request.fixturenames):
        return
    request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")


@pytest.fixture(autouse=True)
def _published_checkpoint_apart(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Each test records its published checkpoints in a file of its own (audit/published.py), and its process
    forgets the ones before: the database rolls back after every test, which is what an older database looks like."""
    from audit import published

    global _published_count
    _published_count += 1
    folder = tmp_path_factory.getbasetemp() / "published"
    folder.mkdir(exist_ok=True)
    settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE = folder / f"test-{_published_count}.json"
    published.forget()
    yield
    published.forget()


_published_count = 0


@pytest.fixture
def gnupg_home(settings: Any, tmp_path: Any) -> Any:
    """A keyring of the test's own; its gpg-agent is stopped afterwards."""
    import subprocess

    home = tmp_path / "gnupg"
    settings.GATEWAY_GNUPGHOME = home
    yield home
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True)


def obtain_token(client: Client, slug: str, scope: str | None = None) -> dict[str, Any]:
    """Client credentials at /oauth/token/ with HTTP Basic, as a partner system does."""
    basic = base64.b64encode(f"{slug}:demo-secret-{slug}".encode()).decode()
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = client.post("/oauth/token/", data, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return response.json()


class Partner:
    """A partner system calling the API with its own bearer token."""

    def __init__(self, client: Client, slug: str, token: str) -> None:
        self.client = client
        self.slug = slug
        self.token = token

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        for name, value in (extra or {}).items():
            headers["HTTP_" + name.upper().replace("-", "_")] = value
        return headers

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        kw.setdefault("content_type", "application/json")
        return self.client.post(path, body, **self.headers(headers), **kw)

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.get(path, **self.headers(headers), **kw)

    def ask(self, **body: Any) -> Any:
        return self.post("/api/v1/requests", body)


@pytest.fixture
def partner(db: Any) -> Callable[..., Partner]:
    """``partner("veilig-thuis-rr")`` gives a client of that organisation with a freshly issued token."""

    def make(slug: str, scope: str | None = None) -> Partner:
        client = Client()
        return Partner(client, slug, obtain_token(client, slug, scope)["access_token"])

    return make


@pytest.fixture
def committed_world(transactional_db: Any) -> Any:
    """For tests whose writes must be seen by other connections or processes (concurrent writers, a Celery
    worker): the demo world committed for real. pytest-django runs these after the ordinary tests and flushes
    the database after each; the append-only triggers would refuse that flush, so it runs with them paused."""
    from django.db import connection

    from audit.models import AuditHead

    if connection.vendor != "postgresql":
        pytest.skip("committed tests run on PostgreSQL, as CI does")
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = origin")
    AuditHead.objects.get_or_create(pk=1, defaults={"size": 0})
    import secrets

    from consent.models import ConfigurationState

    ConfigurationState.objects.get_or_create(pk=1, defaults={"token": secrets.token_hex(16)})
    # rows that migrations put in place are gone after an earlier committed test's flush
    import importlib

    from django.apps import apps

    importlib.import_module("consent.migrations.0002_consent_age_rules").add_default_age_rules(apps, None)
    seed_world()
    yield
    from django.db import connections

    for alias in connections:
        if connections[alias].settings_dict["TEST"].get("MIRROR"):
            continue  # a standby of the test database (tests/gateway/test_databases.py): nothing to flush there
        with connections[alias].cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")


def wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    """Poll until ``predicate()`` is true or the time is up."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return bool(predicate())


class Worker:
    """A real Celery worker process (optionally with beat) on the test database and the Redis broker."""

    def __init__(self, process: Any, queue: str) -> None:
        self.process = process
        self.queue = queue

    def output(self) -> str:
        self.stop()
        return (self.process.stdout.read() or "")[-4000:]

    def stop(self) -> None:
        import signal
        import subprocess

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def celery_worker(committed_world: Any, tmp_path: Any) -> Any:
    """``celery_worker(beat=True, env={...})`` starts a worker on its own queue; tasks queued by this test
    process go to that queue. Stopped at the end of the test."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings as django_settings
    from django.db import connection

    from config.celery import app

    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    if not broker.startswith(("redis://", "amqp://")):
        pytest.skip("needs a real broker (CELERY_BROKER_URL)")
    queue = f"vd-test-{os.getpid()}-{id(tmp_path)}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    started: list[Worker] = []

    def start(*, beat: bool = False, env: dict[str, str] | None = None) -> Worker:
        db = connection.settings_dict
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "GATEWAY_PUBLISHED_CHECKPOINT_FILE": str(django_settings.GATEWAY_PUBLISHED_CHECKPOINT_FILE),
            **(env or {}),
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-Q",
            f"{queue},{queue}.audit",
            "-n",
            f"{queue}@%h",
        ]
        if beat:
            command += ["--beat", "-s", str(Path(tmp_path) / "beat-schedule")]
        process = subprocess.Popen(
            command,
            cwd=Path(__file__).resolve().parents[1],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        worker = Worker(process, queue)
        started.append(worker)
        return worker

    yield start
    app.conf.task_default_queue = previous_queue
    for worker in started:
        worker.stop()
    subprocess.run(
        ["gpgconf", "--homedir", str(Path(tmp_path) / "gnupg"), "--kill", "all"], check=False, capture_output=True
    )
