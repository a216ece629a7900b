"""Settings of the baseline app: startproject's defaults, minus what an API-only project does not use.

The database comes from ``BASELINE_DATABASE_URL``; ``DATABASE_CONN_MAX_AGE`` and ``DATABASE_CONN_HEALTH_CHECKS``
are read as the gateway reads them, so both sides keep their connections the same way.
"""

from __future__ import annotations

import os

import dj_database_url

DEBUG = False
SECRET_KEY = "baseline-benchmark-only-not-a-secret"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

_max_age = int(os.environ.get("DATABASE_CONN_MAX_AGE", "0") or 0)
_health = os.environ.get("DATABASE_CONN_HEALTH_CHECKS", "1" if _max_age else "0").strip().lower()
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("BASELINE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vd_bench_baseline"),
        conn_max_age=_max_age,
        conn_health_checks=_health in {"1", "true", "yes", "on"},
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "oauth2_provider",
    "benchmarks.baseline",
]
# startproject's middleware, as an ordinary Django project has it.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "benchmarks.baseline.urls"
WSGI_APPLICATION = "benchmarks.baseline.wsgi.application"
TEMPLATES: list[dict[str, object]] = []
USE_TZ = True
TIME_ZONE = "Europe/Amsterdam"

OAUTH2_PROVIDER = {
    "SCOPES": {"requests": "Submit"},
    "ALLOWED_GRANT_TYPES": ["client-credentials"],
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["oauth2_provider.contrib.rest_framework.OAuth2Authentication"],
    "DEFAULT_PERMISSION_CLASSES": ["oauth2_provider.contrib.rest_framework.TokenHasScope"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
