"""A real Celery worker with beat, on the Redis broker, signs checkpoints of the committed trail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from audit import signing
from audit.models import AuditHead, Checkpoint, SigningKeyRecord

ROOT = Path(__file__).resolve().parents[2]
ASK = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}


def broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    if url.startswith("memory://"):
        pytest.skip("needs a real broker (CELERY_BROKER_URL)")
    return url


@pytest.fixture
def worker(committed_world: Any, tmp_path: Path) -> Any:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url(),
        "GATEWAY_GNUPGHOME": str(tmp_path / "gnupg"),
        "GATEWAY_CHECKPOINT_SECONDS": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "gateway",
            "worker",
            "--beat",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=INFO",
            "-s",
            str(tmp_path / "beat-schedule"),
            "-Q",
            f"vd-test-{os.getpid()}",
            "-n",
            f"vd-test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env={**env, "CELERY_TASK_DEFAULT_QUEUE": f"vd-test-{os.getpid()}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_beat_and_a_worker_sign_checkpoints_of_new_entries(worker: Any, partner: Any) -> None:
    vt = partner("veilig-thuis-rr")
    assert vt.ask(**ASK).status_code == 200
    size = AuditHead.objects.get().size
    signed = wait_for(lambda: Checkpoint.objects.filter(tree_size=size).exists(), 60)
    if not signed:
        worker.terminate()
        pytest.fail("no checkpoint within 60 s; worker output:\n" + (worker.communicate(timeout=10)[0] or "")[-3000:])
    first = Checkpoint.objects.get(tree_size=size)
    key = SigningKeyRecord.objects.get(fingerprint=first.key_fingerprint)
    assert signing.verify_detached(first.body.encode(), first.signature, key.public_armored) == key.fingerprint

    assert vt.ask(**ASK).status_code == 200  # more entries: the next beat signs a consistent successor
    grown = AuditHead.objects.get().size
    assert wait_for(lambda: Checkpoint.objects.filter(tree_size=grown).exists(), 60)
    second = Checkpoint.objects.get(tree_size=grown)
    assert second.consistency_proof  # proven consistent with the first before it was signed
    time.sleep(2.5)  # beats without new entries sign nothing
    assert Checkpoint.objects.filter(tree_size__gt=grown).count() == 0
    assert settings.GATEWAY_AUDIT_ORIGIN in second.body
