"""Test settings: production settings with test secrets, PostgreSQL unless DATABASE_URL says otherwise."""

import os
import tempfile
import uuid

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("GATEWAY_PSEUDONYM_KEY", "test-pseudonym-key")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/veilig_delen")
os.environ.setdefault("GATEWAY_DATA_DIR", os.path.join(tempfile.gettempdir(), "veilig-delen-test-data"))

from config.settings import *  # noqa: F403

# The tests build the demo world (production settings leave the demo app out).
from config.settings import INSTALLED_APPS as PRODUCTION_APPS

INSTALLED_APPS = PRODUCTION_APPS if "demo" in PRODUCTION_APPS else [*PRODUCTION_APPS, "demo"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; production uses the default
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"client": "10000/min"}}  # noqa: F405
# Every test client asks for tokens many times a minute from one address; the token limit has its own tests.
GATEWAY_TOKEN_RATE_CLIENT = GATEWAY_TOKEN_RATE_ADDRESS = "100000/min"
# The live test server speaks plain HTTP on 127.0.0.1; production keeps secure cookies and HTTPS behind TLS.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
# The tests walk through the officers' own enrolment; production leaves it to an administrator.
GATEWAY_CONSOLE_SELF_ENROL = True
# The tests' holder and webhook servers listen on plain HTTP on 127.0.0.1. Test-only: production refuses both
# (gateway.E013 for http; loopback only when an administrator lists it in GATEWAY_OUTBOUND_ALLOWED_NETWORKS).
GATEWAY_OUTBOUND_ALLOW_HTTP = True
GATEWAY_OUTBOUND_ALLOWED_NETWORKS = ("127.0.0.0/8",)
# Each test process records its published checkpoints apart (audit/published.py): test databases are created afresh
# and rolled back, which is what an older database looks like to a record another run left in GATEWAY_DATA_DIR. The
# celery_worker fixture names the file of the test that starts it; tests/conftest.py gives each test its own.
if not os.environ.get("GATEWAY_PUBLISHED_CHECKPOINT_FILE"):
    GATEWAY_PUBLISHED_CHECKPOINT_FILE = DATA_DIR / f"published-checkpoint-{uuid.uuid4().hex}.json"  # noqa: F405
