"""Settings for Veilig Delen, read from the environment in this one place.

Every variable has a default that is safe for the demo (SQLite, demo mode off unless asked for) and a
system check (``gateway/checks.py``) for the values that can be wrong in production.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("GATEWAY_DATA_DIR", BASE_DIR / "data"))

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# DRF's rate syntax ("600/min"): a count, a slash, and a period that starts with s, m, h or d.
_RATE = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _unclear(name: str, value: str, expected: str) -> ImproperlyConfigured:
    shown = value if len(value) <= 40 else value[:40] + "..."
    return ImproperlyConfigured(f"{name}={shown!r} is not a clear value: expected {expected}.")


def env_bool(name: str, default: bool = False) -> bool:
    """A yes/no setting. Only a clear value counts; anything else stops the start, because a typo read as
    "false" can switch a safeguard off (``GATEWAY_CONSOLE_REQUIRE_2FA=ture``). Empty or unset: the default."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _unclear(name, value, "one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number within bounds; anything else stops the start with the variable's name."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise _unclear(name, value, "a whole number") from None
    if minimum is not None and number < minimum:
        raise _unclear(name, value, f"a whole number of at least {minimum}")
    if maximum is not None and number > maximum:
        raise _unclear(name, value, f"a whole number of at most {maximum}")
    return number


def env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    """A finite number of seconds (or similar) within bounds; anything else stops the start."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = float(value.strip())
    except ValueError:
        raise _unclear(name, value, "a number") from None
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise _unclear(name, value, f"a number from {minimum:g} to {maximum:g}")
    return number


def env_rate(name: str, default: str) -> str:
    """A rate such as ``600/min``, checked at start instead of failing on the first request."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    if not _RATE.match(value.strip()):
        raise _unclear(name, value, "a rate such as 600/min (per s, min, hour or day)")
    return value.strip()


def env_networks(name: str) -> tuple[str, ...]:
    """A comma-separated list of IP networks in CIDR notation (``10.20.0.0/16,2001:db8::/32``)."""
    networks = []
    for item in os.environ.get(name, "").split(","):
        if not item.strip():
            continue
        try:
            networks.append(str(ipaddress.ip_network(item.strip(), strict=True)))
        except ValueError:
            raise _unclear(name, item, "IP networks in CIDR notation, such as 10.20.0.0/16") from None
    return tuple(networks)


def env_choices(name: str, default: frozenset[str], *, allowed: frozenset[str]) -> frozenset[str]:
    """A comma-separated set of codes, each one of ``allowed``; ``none`` is the empty set. Any other word stops the
    start: a misspelt code silently dropped would change whose consent counts."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    words = [w.strip().lower() for w in value.split(",")]
    if words == ["none"]:
        return frozenset()
    if not all(words) or not set(words) <= allowed:
        raise _unclear(name, value, f"'none' or a comma-separated list of {', '.join(sorted(allowed))}")
    return frozenset(words)


# The demo's well-known secrets. The system checks refuse them outside demo mode.
DEMO_SECRET_KEY = "insecure-demo-secret-key-do-not-use-in-production"  # noqa: S105
DEMO_PSEUDONYM_KEY = "insecure-demo-pseudonym-key"

DEBUG = env_bool("DEBUG", False)
GATEWAY_DEMO = env_bool("GATEWAY_DEMO", False)
# Demo mode accepts the demo world's published passwords and client secrets. Outside DEBUG it runs only when asked
# for twice (scripts/run does), so a stray GATEWAY_DEMO=1 in a production environment stops the start instead.
GATEWAY_DEMO_FORCE = env_bool("GATEWAY_DEMO_FORCE", False)
if GATEWAY_DEMO and not DEBUG and not GATEWAY_DEMO_FORCE:
    raise ImproperlyConfigured(
        "GATEWAY_DEMO=1 without DEBUG: demo mode accepts well-known demo credentials and must never run in "
        "production. For a demo on a server, set GATEWAY_DEMO_FORCE=1 as well (scripts/run does)."
    )
_PRODUCTION = not DEBUG and not GATEWAY_DEMO
SECRET_KEY = os.environ.get("SECRET_KEY") or DEMO_SECRET_KEY
if _PRODUCTION:
    # Production refuses to start with a secret from this file (product.md, "Runs as").
    for _name in ("SECRET_KEY", "GATEWAY_PSEUDONYM_KEY"):
        if not os.environ.get(_name):
            raise ImproperlyConfigured(
                f"{_name} must be set outside demo mode (for the demo: GATEWAY_DEMO=1 with DEBUG=1 or "
                "GATEWAY_DEMO_FORCE=1, as scripts/run does)."
            )
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",") if h.strip()
]

# Keyed pseudonym of a BSN in the audit trail (HMAC-SHA256). Changing it breaks the link between old and new
# entries about the same person, so it is rotated only with a documented re-keying (docs/operations.md).
GATEWAY_PSEUDONYM_KEY = os.environ.get("GATEWAY_PSEUDONYM_KEY") or DEMO_PSEUDONYM_KEY
GATEWAY_GNUPGHOME = Path(os.environ.get("GATEWAY_GNUPGHOME", DATA_DIR / "gnupg"))
GATEWAY_AUDIT_ORIGIN = os.environ.get("GATEWAY_AUDIT_ORIGIN", "veilig-delen.local/audit/v1")
# The published checkpoint (audit/published.py): every signed checkpoint is recorded outside the database before it is
# given out, so that a database that comes back older than what partners hold (an asynchronous standby promoted, an
# older backup restored) stops signing and releasing. A file every node reads (shared storage for several machines;
# by default in GATEWAY_DATA_DIR) and, when set, a key in a Redis every node reaches (durable: appendonly).
GATEWAY_PUBLISHED_CHECKPOINT_FILE = Path(
    os.environ.get("GATEWAY_PUBLISHED_CHECKPOINT_FILE") or DATA_DIR / "published-checkpoint.json"
)
GATEWAY_PUBLISHED_CHECKPOINT_REDIS = os.environ.get("GATEWAY_PUBLISHED_CHECKPOINT_REDIS", "").strip()
if GATEWAY_PUBLISHED_CHECKPOINT_REDIS and not GATEWAY_PUBLISHED_CHECKPOINT_REDIS.startswith(
    ("redis://", "rediss://", "unix://")
):
    raise ImproperlyConfigured("GATEWAY_PUBLISHED_CHECKPOINT_REDIS must be a redis://, rediss:// or unix:// URL")
# How often a process reads the record again and compares the trail with it (two queries); every append in between
# only compares its index with the published size.
GATEWAY_TRAIL_CHECK_SECONDS = env_float("GATEWAY_TRAIL_CHECK_SECONDS", 5.0, minimum=0.5, maximum=300)
GATEWAY_PROVIDER_TIMEOUT = env_float("GATEWAY_PROVIDER_TIMEOUT", 5.0, minimum=0.1, maximum=120)
GATEWAY_PROVIDER_RETRIES = env_int("GATEWAY_PROVIDER_RETRIES", 2, minimum=0, maximum=10)
GATEWAY_IDEMPOTENCY_HOURS = env_int("GATEWAY_IDEMPOTENCY_HOURS", 24, minimum=1)
GATEWAY_MAX_BODY_BYTES = 64 * 1024
GATEWAY_HOLDER_PENDING_HOURS = env_int("GATEWAY_HOLDER_PENDING_HOURS", 72, minimum=1)
# The urgent lane (docs/api.md, "The urgent lane"): a pending item of an emergency request expires sooner and is
# escalated to its holder when still open after GATEWAY_URGENT_ESCALATE_MINUTES.
GATEWAY_URGENT_EXPIRY_HOURS = env_int("GATEWAY_URGENT_EXPIRY_HOURS", 4, minimum=1, maximum=72)
GATEWAY_URGENT_ESCALATE_MINUTES = env_int("GATEWAY_URGENT_ESCALATE_MINUTES", 30, minimum=1, maximum=24 * 60)
# A holder's case-level pre-authorisation (e.g. Veilig Thuis lets police and OM receive the risk picture in a
# high-risk case) runs at most this many days; the holder weighs again after that.
GATEWAY_PREAUTHORISATION_MAX_DAYS = env_int("GATEWAY_PREAUTHORISATION_MAX_DAYS", 90, minimum=1, maximum=365)
GATEWAY_DELIVERY_HOURS = env_int("GATEWAY_DELIVERY_HOURS", 72, minimum=1)
GATEWAY_REVIEW_DAYS = env_int("GATEWAY_REVIEW_DAYS", 7, minimum=1)
GATEWAY_WEBHOOK_TIMEOUT = env_float("GATEWAY_WEBHOOK_TIMEOUT", 5.0, minimum=0.1, maximum=120)
GATEWAY_WEBHOOK_MAX_ATTEMPTS = env_int("GATEWAY_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1, maximum=50)
GATEWAY_CLIENT_RATE = env_rate("GATEWAY_CLIENT_RATE", "600/min")
# All parents with custody must consent for a minor (default); off: one of them suffices (domain.md, "Consent by age").
GATEWAY_CONSENT_ALL_CUSTODIANS = env_bool("GATEWAY_CONSENT_ALL_CUSTODIANS", True)
# The consent regimes (consent.choices.ConsentRegime codes, copied: settings import no app) in which a 12-15-year-old
# who can judge their interests consents alone to a disclosure of their data, and whose entries the parents do not
# see in the portal: medical (BW art. 7:457 with 7:465) and youth care (Jeugdwet art. 7.3.11 with 7.3.15). Unsettled
# law, so configurable; "none" asks the child and the legal representatives (docs/legal-basis.md, issue 11 section).
GATEWAY_CONSENT_12_15_OWN = env_choices(
    "GATEWAY_CONSENT_12_15_OWN",
    frozenset({"medical", "youth_care"}),
    allowed=frozenset({"medical", "youth_care", "vt_municipality", "avg"}),
)

# --- Calls out to holders and webhooks (gateway/outbound.py) ---------------------------------------------------
# Holder and webhook URLs must resolve to public addresses; these networks (CIDR, comma separated) are allowed in
# addition, for holders inside a government network. Never from the request: an administrator sets them.
GATEWAY_OUTBOUND_ALLOWED_NETWORKS = env_networks("GATEWAY_OUTBOUND_ALLOWED_NETWORKS")
# Plain http is for the demo only. This is deliberately no environment variable: only a settings module (the
# tests') can allow it, and the deploy check gateway.E013 refuses it outside demo mode.
GATEWAY_OUTBOUND_ALLOW_HTTP = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "auditlog",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # The layers, bottom up (docs/architecture.md): each imports only those above it in this list.
    "audit",
    "consent",
    "gateway",
    "portal",
    "console",
]
# The demo world and ``manage.py seed_demo`` exist only where a demo may run (seed_demo refuses elsewhere too).
if GATEWAY_DEMO or DEBUG:
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    "gateway.middleware.NoStoreMiddleware",  # outermost: also covers redirects, 413s and lockout pages
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "gateway.api.middleware.BodySizeLimitMiddleware",
    "gateway.databases.StandbyPinMiddleware",  # a browser that just wrote reads the primary (DATABASE_REPLICA_URL)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "portal.middleware.PortalSecurityHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before any password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1, maximum=20)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # a stranger cannot lock a family member out from elsewhere
# The client's address (lockouts, the token endpoint's rate limit): behind GATEWAY_TRUSTED_PROXIES reverse proxies
# that each append the address they saw to X-Forwarded-For, the client is the entry that the outermost proxy
# appended, counted from the right, so whatever a client writes into the header itself is never taken. Without a
# trusted proxy only the socket's peer counts. django-ipware does the reading; its proxy count is the number of
# entries to the right of the client, one less than the number of proxies.
GATEWAY_TRUSTED_PROXIES = env_int("GATEWAY_TRUSTED_PROXIES", 0, minimum=0, maximum=5)
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR",) if GATEWAY_TRUSTED_PROXIES else ("REMOTE_ADDR",)
AXES_IPWARE_PROXY_COUNT = GATEWAY_TRUSTED_PROXIES - 1 if GATEWAY_TRUSTED_PROXIES else None
# Non-strict: a chain longer than the proxies (the client sent its own X-Forwarded-For) is still read from the
# right, where only the trusted proxies write; strict would drop it and lump such clients together.
IPWARE_STRICT = False
AXES_LOCKOUT_CALLABLE = "gateway.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]
# The privacy console requires two-factor login (TOTP) outside demo mode; in demo mode it may be switched off.
GATEWAY_CONSOLE_REQUIRE_2FA = env_bool("GATEWAY_CONSOLE_REQUIRE_2FA", not GATEWAY_DEMO)
# Officers may enrol their own authenticator at first login only where that is safe (the demo); in production an
# administrator issues the TOTP device (admin: OTP devices), so a stolen password alone never enrols a device.
GATEWAY_CONSOLE_SELF_ENROL = env_bool("GATEWAY_CONSOLE_SELF_ENROL", GATEWAY_DEMO)
OTP_TOTP_ISSUER = "Veilig Delen"
CONSOLE_LOGIN_URL = "/privacy/login/"
CONSOLE_OTP_URL = "/privacy/login/otp/"
SESSION_COOKIE_AGE = 30 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Veilig Delen <noreply@veilig-delen.local>")
GATEWAY_PORTAL_URL = os.environ.get("GATEWAY_PORTAL_URL", "http://127.0.0.1:8000/portal/")
# Wmo 2015 art. 5.3.1: days an entry about a suspect waits before his portal shows it, unless cleared or
# postponed (docs/portal.md); anything but a whole number from 1 to 28 stops the start.
# Wmo 2015 art. 5.3.1: Veilig Thuis informs the person concerned within four weeks, and may postpone that for as
# long as the safety of others or the investigation requires. The portal holds an entry about a suspect back for
# at most this many days unless a party that may inform him clears it earlier or postpones it.
GATEWAY_PORTAL_INFORM_DAYS = env_int("GATEWAY_PORTAL_INFORM_DAYS", 28, minimum=1, maximum=28)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context.verification_alert",
                "console.context.trail_alarm",
            ],
        },
    },
]

DATA_DIR.mkdir(parents=True, exist_ok=True)
# Persistent connections (docs/operations.md, "Database connections"): a web process keeps its connection for
# DATABASE_CONN_MAX_AGE seconds instead of opening one per request, and checks it before reusing it after a request
# (CONN_HEALTH_CHECKS), so a restarted or failed-over database costs one failed check, not a failed request.
# 0 opens a connection per request.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'veilig-delen.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600, minimum=0, maximum=86400),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # Server-side parameters and prepared statements (psycopg 3): a statement a kept connection runs again is
    # planned once, not on every request (docs/performance.md). Off for a pooler that cannot keep them (PgBouncer
    # in transaction mode before 1.21).
    # Added to the URL's own options (target_session_attrs, connect_timeout, sslmode, ...), never in their place:
    # a multi-host URL needs target_session_attrs=read-write to find the primary after a failover.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "server_side_binding": True,
        "prepare_threshold": 2,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of deadlocking on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# A streaming hot standby for the reads a console page marks as safe there (gateway/databases.py: writes, audited
# actions and everything unmarked read the primary). Unset: everything goes to the primary. Its URL's own options
# stand (never target_session_attrs=read-write, which a standby refuses); the prepared statements follow the primary's.
if os.environ.get("DATABASE_REPLICA_URL"):
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL (a standby of it)")
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
    )
    _prepared = {
        k: v for k, v in DATABASES["default"]["OPTIONS"].items() if k in ("server_side_binding", "prepare_threshold")
    }
    DATABASES["replica"]["OPTIONS"] = {**DATABASES["replica"].get("OPTIONS", {}), **_prepared}
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["gateway.databases.PrimaryRouter"]
# After a browser changes something, its reads stay on the primary this long (read your own writes on a lagging
# standby).
GATEWAY_STANDBY_PIN_SECONDS = env_int("GATEWAY_STANDBY_PIN_SECONDS", 30, minimum=0, maximum=3600)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A Redis host that does not answer (a network partition, not a refused connection) must not hang a request: the
# connect and each read give up after CACHE_TIMEOUT_SECONDS, and config/redis_cache.py then counts in the process.
CACHE_TIMEOUT_SECONDS = env_float("CACHE_TIMEOUT_SECONDS", 0.5, minimum=0.05, maximum=10)
CACHES = {
    "default": (
        {
            "BACKEND": "config.redis_cache.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
            "OPTIONS": {"socket_connect_timeout": CACHE_TIMEOUT_SECONDS, "socket_timeout": CACHE_TIMEOUT_SECONDS},
        }
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands"), ("en", "English")]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", DATA_DIR / "static"))
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
DATA_UPLOAD_MAX_MEMORY_SIZE = GATEWAY_MAX_BODY_BYTES

# --- Transport security (docs/operations.md, "Behind the TLS proxy") -------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _PRODUCTION
CSRF_COOKIE_SECURE = _PRODUCTION
if GATEWAY_TRUSTED_PROXIES:
    # Only a configured proxy may say the client spoke TLS; without one a client could claim it in a header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("GATEWAY_SSL_REDIRECT", _PRODUCTION)
# A load balancer probes liveness and readiness over plain HTTP inside the network; nothing personal is there.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("GATEWAY_HSTS_SECONDS", 365 * 24 * 3600 if _PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GATEWAY_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("GATEWAY_HSTS_PRELOAD", True)

# --- OAuth2 (django-oauth-toolkit) ---------------------------------------------------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "gateway.Application"
OAUTH2_PROVIDER = {
    "SCOPES": {
        "requests": "Create and read the organisation's own information requests and dry runs",
        "consents": "Record and withdraw consents (sectors allowed to record consent)",
        "provider": "Decide on pending requests addressed to the organisation as data holder",
        "audit": "Read audit checkpoints and proofs",
    },
    "SCOPES_BACKEND_CLASS": "gateway.oauth.OrganisationScopes",
    "OAUTH2_VALIDATOR_CLASS": "gateway.oauth.GatewayOAuth2Validator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("GATEWAY_TOKEN_SECONDS", 600, minimum=60, maximum=3600),
    # Store only the SHA-256 checksum of access tokens, never the bearer value (RFC 9700 §4.x).
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    # Partners use client credentials only; every other RFC 9700 gate is closed too, so a client configured
    # by mistake for another grant cannot reopen what the BCP closes (check --deploy stays clean).
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,  # never a token in a URL (access logs)
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOWED_GRANT_TYPES": ["client-credentials"],
    "PKCE_REQUIRED": True,
}
# /oauth/token/ is limited per presented client id and per client address before any secret is checked, so
# neither guessing nor the cost of the password hash can be used against the gateway (gateway/oauth.py).
GATEWAY_TOKEN_RATE_CLIENT = env_rate("GATEWAY_TOKEN_RATE_CLIENT", "20/min")
GATEWAY_TOKEN_RATE_ADDRESS = env_rate("GATEWAY_TOKEN_RATE_ADDRESS", "60/min")

# --- REST framework and OpenAPI ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["gateway.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["gateway.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["gateway.api.renderers.GatewayJSONRenderer"],
    "EXCEPTION_HANDLER": "gateway.api.problems.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["gateway.api.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": GATEWAY_CLIENT_RATE},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Veilig Delen partner API",
    "DESCRIPTION": "Consent and audit gateway for data sharing between the partners of the Centrum Huiselijk "
    "Geweld en Kindermishandeling and the Zorg- en Veiligheidshuizen. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery --------------------------------------------------------------------------------------------------
# The demo needs no broker server: kombu's filesystem transport passes messages through a folder under GATEWAY_DATA_DIR.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://" if GATEWAY_DEMO else "redis://127.0.0.1:6379/0")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
GATEWAY_CHECKPOINT_SECONDS = env_float("GATEWAY_CHECKPOINT_SECONDS", 5.0, minimum=1, maximum=3600)
CELERY_BEAT_SCHEDULE = {
    # Sign a checkpoint whenever new entries exist, at most every GATEWAY_CHECKPOINT_SECONDS.
    "audit-checkpoint": {"task": "audit.checkpoint_sign", "schedule": GATEWAY_CHECKPOINT_SECONDS},
    "idempotency-purge": {"task": "gateway.idempotency_purge", "schedule": 3600.0},
    "consent-expire": {"task": "consent.consent_expire", "schedule": 3600.0},
    "holder-expire": {"task": "gateway.holder_expire", "schedule": 60.0},
    "urgent-escalate": {
        "task": "gateway.urgent_escalate",
        "schedule": env_float("GATEWAY_URGENT_ESCALATE_CHECK_SECONDS", 60.0, minimum=1, maximum=3600),
    },
    "webhook-redeliver": {
        "task": "gateway.webhook_redeliver",
        "schedule": env_float("GATEWAY_WEBHOOK_REDELIVER_SECONDS", 30.0, minimum=1, maximum=3600),
    },
    "delivery-purge": {"task": "gateway.delivery_purge", "schedule": 3600.0},
    "restriction-review": {"task": "consent.restriction_review_flag", "schedule": 3600.0},
    # The "there is news" e-mail for entries about a suspect whose informing day has come (portal/notifications.py).
    "portal-notice-news": {"task": "portal.notice_news_due", "schedule": 3600.0},
    # The "there is news" e-mails of the entries flagged since the last sweep (portal/notifications.py). Web processes
    # also queue a sweep 2 s after a commit; this one takes what such a kick missed (the broker was down).
    "portal-news-sweep": {
        "task": "portal.news_sweep",
        "schedule": env_float("GATEWAY_NEWS_SWEEP_SECONDS", 10.0, minimum=1, maximum=3600),
    },
}

# --- django-auditlog -----------------------------------------------------------------------------------------
AUDITLOG_INCLUDE_ALL_MODELS = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "httpx": {"level": "WARNING"}},
}
