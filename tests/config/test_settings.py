"""Configuration cannot fail open (issue 9, item 9): unclear values stop the start, demo mode needs forcing outside
DEBUG, the documented production environment passes ``check --deploy`` without a single message, every deploy
check fires on the value it guards, and the client's address is read only from a configured trusted proxy."""

from __future__ import annotations

import ast
import os
import re
import runpy
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from axes.helpers import get_client_ip_address
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from gateway import checks

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = ROOT / "config" / "settings.py"


def load_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> dict[str, Any]:
    """Run config/settings.py afresh with ``env`` on top of a production environment (as a server would read it
    at start), without touching the settings of this test run."""
    for name in list(os.environ):
        if name.startswith(("GATEWAY_", "AXES_")) or name in {"DEBUG", "CACHE_URL", "ALLOWED_HOSTS"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(50))
    monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY", secrets.token_urlsafe(32))
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def helper_reads() -> dict[str, list[str]]:
    """Every ``env_<kind>("NAME", ...)`` in config/settings.py, by kind: the sweep's list of variables."""
    reads: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(SETTINGS_FILE.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("env_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            reads.setdefault(node.func.id, []).append(str(node.args[0].value))
    return reads


# --- Unclear values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ture", "flase", "2", "enabled", "y", "n", "-1", "on!", "tru e", "0.0"])
def test_a_boolean_that_is_not_clearly_true_or_false_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    """``GATEWAY_CONSOLE_REQUIRE_2FA=ture`` used to read as false and switch two-factor login off."""
    with pytest.raises(ImproperlyConfigured, match="GATEWAY_CONSOLE_REQUIRE_2FA"):
        load_settings(monkeypatch, tmp_path, GATEWAY_CONSOLE_REQUIRE_2FA=value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("On", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("", True),
    ],
)
def test_clear_booleans_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: bool) -> None:
    loaded = load_settings(monkeypatch, tmp_path, GATEWAY_CONSENT_ALL_CUSTODIANS=value)
    assert loaded["GATEWAY_CONSENT_ALL_CUSTODIANS"] is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {"medical", "youth_care"}),
        ("medical", {"medical"}),
        (" Youth_Care , medical ", {"medical", "youth_care"}),
        ("none", set()),
    ],
)
def test_the_regimes_where_a_12_to_15_year_old_consents_alone_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: set[str]
) -> None:
    loaded = load_settings(monkeypatch, tmp_path, GATEWAY_CONSENT_12_15_OWN=value)
    assert loaded["GATEWAY_CONSENT_12_15_OWN"] == frozenset(expected)


@pytest.mark.parametrize("value", ["medicl", "medical,", "medical,,youth_care", "none,medical", "all"])
def test_an_unknown_regime_stops_the_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str) -> None:
    """A misspelt regime silently dropped would make the parents' consent needed again, or the other way round."""
    with pytest.raises(ImproperlyConfigured, match="GATEWAY_CONSENT_12_15_OWN"):
        load_settings(monkeypatch, tmp_path, GATEWAY_CONSENT_12_15_OWN=value)


def test_every_typed_setting_refuses_an_unclear_value(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The general guard: each variable read through a typed helper stops the start, naming itself, on a value
    that is not of its kind (rather than a traceback deep in Django, or a safeguard read as off)."""
    unclear = {
        "env_bool": "ture",
        "env_int": "12x",
        "env_float": "nan",
        "env_rate": "lots",
        "env_networks": "10.0.0.1/8",
        "env_choices": "medicl",
    }
    reads = helper_reads()
    assert {"env_bool", "env_int", "env_float", "env_rate"} <= set(reads)
    for kind, names in reads.items():
        for name in names:
            with monkeypatch.context() as patch, pytest.raises(ImproperlyConfigured, match=re.escape(name)):
                load_settings(patch, tmp_path, **{name: unclear[kind]})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_PROVIDER_RETRIES", "-1"),
        ("GATEWAY_PROVIDER_TIMEOUT", "0"),
        ("GATEWAY_PROVIDER_TIMEOUT", "inf"),
        ("GATEWAY_TOKEN_SECONDS", "0"),
        ("AXES_FAILURE_LIMIT", "0"),
        ("GATEWAY_TRUSTED_PROXIES", "-1"),
        ("GATEWAY_HSTS_SECONDS", "-5"),
        ("GATEWAY_CLIENT_RATE", "600/fortnight"),
    ],
)
def test_numbers_out_of_bounds_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(monkeypatch, tmp_path, **{name: value})


def test_only_strings_are_read_from_the_environment_directly() -> None:
    """Anything that is not free text goes through a typed helper: a new yes/no or number read with
    ``os.environ.get`` would bring the fail-open reading back."""
    text_settings = {
        "GATEWAY_DATA_DIR",
        "SECRET_KEY",
        "GATEWAY_PSEUDONYM_KEY",
        "ALLOWED_HOSTS",
        "GATEWAY_GNUPGHOME",
        "GATEWAY_AUDIT_ORIGIN",
        "EMAIL_BACKEND",
        "EMAIL_FILE_PATH",
        "DEFAULT_FROM_EMAIL",
        "GATEWAY_PORTAL_URL",
        "DATABASE_URL",
        "DATABASE_REPLICA_URL",
        "CACHE_URL",
        "GATEWAY_PUBLISHED_CHECKPOINT_FILE",
        "GATEWAY_PUBLISHED_CHECKPOINT_REDIS",
        "STATIC_ROOT",
        "CELERY_BROKER_URL",
        "CELERY_TASK_DEFAULT_QUEUE",
        "LOG_LEVEL",
    }
    direct: set[str] = set()
    for node in ast.walk(ast.parse(SETTINGS_FILE.read_text())):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in {"os.environ.get", "os.getenv"}:
            key = node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            key = node.slice
        else:
            continue
        # A variable name (not a literal) is read only inside the typed helpers themselves.
        direct.add(key.value if isinstance(key, ast.Constant) else f"<{ast.unparse(key)}>")
    assert direct - {"<name>", "<_name>"} <= text_settings, direct - text_settings


# --- Demo mode -----------------------------------------------------------------------------------------------


def test_demo_mode_without_debug_refuses_to_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="GATEWAY_DEMO_FORCE"):
        load_settings(monkeypatch, tmp_path, GATEWAY_DEMO="1")


def test_demo_mode_starts_when_forced_or_with_debug(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    forced = load_settings(monkeypatch, tmp_path, GATEWAY_DEMO="1", GATEWAY_DEMO_FORCE="1")
    assert forced["GATEWAY_DEMO"] is True and forced["SECURE_SSL_REDIRECT"] is False
    debug = load_settings(monkeypatch, tmp_path, GATEWAY_DEMO="1", DEBUG="1", GATEWAY_DEMO_FORCE="")
    assert debug["GATEWAY_DEMO"] is True


def test_the_demo_command_forces_demo_mode() -> None:
    """scripts/run runs gunicorn with DEBUG=0: it must say that demo mode is meant."""
    assert re.search(r"^export GATEWAY_DEMO_FORCE=1$", (ROOT / "scripts" / "run").read_text(), re.MULTILINE)


# --- Production: check --deploy ------------------------------------------------------------------------------


def documented_production_environment(tmp_path: Path) -> dict[str, str]:
    """The ``env`` block of docs/operations.md, with its placeholders filled in with fresh random secrets and
    its data folder in ``tmp_path``: the test checks exactly what the operators are told to set."""
    text = (ROOT / "docs" / "operations.md").read_text()
    block = re.search(r"^```env\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert block, "docs/operations.md has no ```env block with the production environment"
    env: dict[str, str] = {}
    for line in block.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        env[name.strip()] = secrets.token_urlsafe(64) if value.startswith("<") else value.strip()
    env["GATEWAY_DATA_DIR"] = str(tmp_path / "data")
    return env


def run_check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_for_the_documented_production_environment(tmp_path: Path) -> None:
    """HSTS, the SSL redirect, secure cookies behind the TLS proxy, the OAuth BCP gates, a shared cache: not one
    warning, and nothing silenced."""
    environment = documented_production_environment(tmp_path)
    assert environment.get("GATEWAY_TRUSTED_PROXIES") == "1"
    assert "DEBUG" not in environment and "GATEWAY_DEMO" not in environment
    result = run_check_deploy(environment)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output


def test_check_deploy_fails_when_a_safeguard_is_switched_off(tmp_path: Path) -> None:
    environment = {**documented_production_environment(tmp_path), "GATEWAY_CONSOLE_REQUIRE_2FA": "0"}
    result = run_check_deploy(environment)
    assert result.returncode != 0
    assert "gateway.E010" in result.stdout + result.stderr


def test_production_transport_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    direct = load_settings(monkeypatch, tmp_path)
    assert direct["SECURE_SSL_REDIRECT"] is True
    assert direct["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert direct["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and direct["SECURE_HSTS_PRELOAD"]
    assert direct["SESSION_COOKIE_SECURE"] and direct["CSRF_COOKIE_SECURE"]
    # Without a trusted proxy no header may claim TLS, and the client's address is the socket's peer.
    assert "SECURE_PROXY_SSL_HEADER" not in direct
    assert direct["AXES_IPWARE_META_PRECEDENCE_ORDER"] == ("REMOTE_ADDR",)
    proxied = load_settings(monkeypatch, tmp_path, GATEWAY_TRUSTED_PROXIES="1")
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_health_probes_are_exempt_from_the_ssl_redirect(db: Any, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    redirected = client.get("/api/v1/requests")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
    assert client.get("/portal/").status_code == 301


# --- The client's address ------------------------------------------------------------------------------------


def use_proxies(settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, proxies: int) -> None:
    loaded = load_settings(monkeypatch, tmp_path, GATEWAY_TRUSTED_PROXIES=str(proxies))
    for name in ("AXES_IPWARE_META_PRECEDENCE_ORDER", "AXES_IPWARE_PROXY_COUNT", "IPWARE_STRICT"):
        setattr(settings, name, loaded[name])


@pytest.mark.parametrize(
    ("proxies", "remote_addr", "forwarded_for", "client"),
    [
        # No proxy configured: whatever the client writes into X-Forwarded-For is ignored.
        (0, "198.51.100.7", "1.2.3.4", "198.51.100.7"),
        (0, "198.51.100.7", None, "198.51.100.7"),
        # One TLS proxy that appends the address it saw: the right-most entry, never a client-written one.
        (1, "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.2", "1.2.3.4, 198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.2", "garbage, 198.51.100.7", "198.51.100.7"),
        # Two proxies: the outer one appended the client, the inner one the outer proxy.
        (2, "10.0.0.3", "1.2.3.4, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
    ],
)
def test_the_client_address_comes_only_from_a_trusted_proxy(
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    proxies: int,
    remote_addr: str,
    forwarded_for: str | None,
    client: str,
) -> None:
    """What django-axes locks out by (and the token endpoint limits by)."""
    use_proxies(settings, monkeypatch, tmp_path, proxies)
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert get_client_ip_address(RequestFactory().post("/portal/login/", **extra)) == client


# --- Deploy checks -------------------------------------------------------------------------------------------


def deploy_ids() -> set[str]:
    return {message.id for message in checks.check_deploy_safeguards(None) if message.id}


@pytest.fixture
def production(settings: Any) -> Any:
    """The test settings made to look like a correct production (tests differ only where they must)."""
    settings.DEBUG = False
    settings.GATEWAY_DEMO = False
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = True
    settings.GATEWAY_CONSOLE_SELF_ENROL = False
    settings.GATEWAY_PSEUDONYM_KEY = secrets.token_urlsafe(32)
    settings.GATEWAY_OUTBOUND_ALLOW_HTTP = False
    settings.GATEWAY_OUTBOUND_ALLOWED_NETWORKS = ("10.20.0.0/16", "fd12:3456::/32")
    settings.ALLOWED_HOSTS = ["veilig-delen.example.nl"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}}
    assert deploy_ids() == set()
    return settings


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("GATEWAY_CONSOLE_REQUIRE_2FA", False, "gateway.E010"),
        ("GATEWAY_CONSOLE_SELF_ENROL", True, "gateway.E011"),
        ("GATEWAY_PSEUDONYM_KEY", "insecure-demo-pseudonym-key", "gateway.E012"),
        ("GATEWAY_PSEUDONYM_KEY", "short-key", "gateway.E012"),
        ("SECRET_KEY", "insecure-demo-secret-key-do-not-use-in-production", "gateway.E012"),
        ("GATEWAY_OUTBOUND_ALLOW_HTTP", True, "gateway.E013"),
        ("GATEWAY_OUTBOUND_ALLOWED_NETWORKS", ("127.0.0.0/8",), "gateway.E014"),
        ("GATEWAY_OUTBOUND_ALLOWED_NETWORKS", ("169.254.0.0/16",), "gateway.E014"),
        ("GATEWAY_OUTBOUND_ALLOWED_NETWORKS", ("169.0.0.0/8",), "gateway.E014"),
        ("GATEWAY_OUTBOUND_ALLOWED_NETWORKS", ("0.0.0.0/0",), "gateway.E014"),
        ("GATEWAY_OUTBOUND_ALLOWED_NETWORKS", ("::/0",), "gateway.E014"),
        ("GATEWAY_OUTBOUND_ALLOWED_NETWORKS", ("fe80::/64",), "gateway.E014"),
        ("ALLOWED_HOSTS", ["*"], "gateway.W015"),
        ("CACHES", {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}, "gateway.W016"),
    ],
)
def test_each_weakened_safeguard_has_a_deploy_check(production: Any, setting: str, value: Any, check_id: str) -> None:
    setattr(production, setting, value)
    assert deploy_ids() == {check_id}


def test_demo_mode_is_not_judged_as_production(production: Any) -> None:
    production.GATEWAY_DEMO = True
    production.GATEWAY_CONSOLE_REQUIRE_2FA = False
    assert deploy_ids() == set()


def test_a_multi_host_database_url_keeps_its_options_beside_the_prepared_statements(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """libpq tries the hosts in order and keeps the first that accepts writes (target_session_attrs): after a
    failover the next connection finds the new primary (deploy/drill.py)."""
    url = "postgres://vd_app@db-a.internal,db-b.internal:5432/veilig_delen?target_session_attrs=read-write&connect_timeout=3"
    database = load_settings(monkeypatch, tmp_path, DATABASE_URL=url)["DATABASES"]["default"]
    assert database["HOST"] == "db-a.internal,db-b.internal"
    assert database["OPTIONS"] == {
        "target_session_attrs": "read-write",
        "connect_timeout": 3,
        "server_side_binding": True,
        "prepare_threshold": 2,
    }


def test_readiness_reports_the_broker_without_requiring_it(db: Any, settings: Any) -> None:
    """A broker outage must not take every web node out of the load balancer: webhooks wait in the outbox."""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    answer = Client().get("/readyz")
    body = answer.json()
    assert body["checks"]["broker"]["ok"] is False and body["checks"]["broker"]["required"] is False
    assert answer.status_code == (200 if body["checks"]["gpg"]["ok"] else 503)


def test_a_standby_keeps_its_own_options_and_the_primarys_prepared_statements(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DATABASE_REPLICA_URL (gateway/databases.py): never the primary's target_session_attrs=read-write, which a hot
    standby refuses; the router is always there, and without a standby nothing but the primary is configured."""
    primary = "postgres://vd_app@db-a.internal,db-b.internal:5432/veilig_delen?target_session_attrs=read-write"
    loaded = load_settings(
        monkeypatch, tmp_path, DATABASE_URL=primary, DATABASE_REPLICA_URL="postgres://vd_app@db-b.internal/veilig_delen"
    )
    standby = loaded["DATABASES"]["replica"]
    assert standby["HOST"] == "db-b.internal" and "target_session_attrs" not in standby["OPTIONS"]
    assert standby["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 2}
    assert loaded["DATABASE_ROUTERS"] == ["gateway.databases.PrimaryRouter"]
    monkeypatch.delenv("DATABASE_REPLICA_URL")
    assert set(load_settings(monkeypatch, tmp_path, DATABASE_URL=primary)["DATABASES"]) == {"default"}
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL needs a PostgreSQL"):
        load_settings(monkeypatch, tmp_path, DATABASE_URL="sqlite:///x.sqlite3", DATABASE_REPLICA_URL=primary)


def test_the_published_checkpoint_stores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """audit/published.py: a file in the data folder unless named; Redis only when set, and only as a Redis URL."""
    loaded = load_settings(monkeypatch, tmp_path)
    assert loaded["GATEWAY_PUBLISHED_CHECKPOINT_FILE"] == tmp_path / "data" / "published-checkpoint.json"
    assert loaded["GATEWAY_PUBLISHED_CHECKPOINT_REDIS"] == ""
    shared = tmp_path / "shared" / "published.json"
    loaded = load_settings(
        monkeypatch,
        tmp_path,
        GATEWAY_PUBLISHED_CHECKPOINT_FILE=str(shared),
        GATEWAY_PUBLISHED_CHECKPOINT_REDIS="redis://redis.internal:6379/3",
    )
    assert loaded["GATEWAY_PUBLISHED_CHECKPOINT_FILE"] == shared
    assert loaded["GATEWAY_PUBLISHED_CHECKPOINT_REDIS"] == "redis://redis.internal:6379/3"
    with pytest.raises(ImproperlyConfigured, match="GATEWAY_PUBLISHED_CHECKPOINT_REDIS must be a redis://"):
        load_settings(monkeypatch, tmp_path, GATEWAY_PUBLISHED_CHECKPOINT_REDIS="http://user:secret@redis.internal/")


def test_the_redis_cache_has_timeouts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A Redis host that does not answer must not hang requests: the cache gives up after CACHE_TIMEOUT_SECONDS."""
    loaded = load_settings(
        monkeypatch, tmp_path, CACHE_URL="redis://redis.internal:6379/1", CACHE_TIMEOUT_SECONDS="0.3"
    )
    assert loaded["CACHES"]["default"]["OPTIONS"] == {"socket_connect_timeout": 0.3, "socket_timeout": 0.3}
    monkeypatch.delenv("CACHE_TIMEOUT_SECONDS")
    default = load_settings(monkeypatch, tmp_path, CACHE_URL="redis://redis.internal:6379/1")
    assert default["CACHES"]["default"]["OPTIONS"]["socket_timeout"] == 0.5
