"""A real Celery worker with beat, on the Redis broker, signs checkpoints of the committed trail."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from audit import signing
from audit.models import AuditHead, Checkpoint, SigningKeyRecord
from tests.conftest import wait_for

ASK = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}


def test_beat_and_a_worker_sign_checkpoints_of_new_entries(celery_worker: Any, partner: Any, tmp_path: Path) -> None:
    worker = celery_worker(
        beat=True, env={"GATEWAY_GNUPGHOME": str(tmp_path / "gnupg"), "GATEWAY_CHECKPOINT_SECONDS": "1"}
    )
    vt = partner("veilig-thuis-rr")
    assert vt.ask(**ASK).status_code == 200
    size = AuditHead.objects.get().size
    signed = wait_for(lambda: Checkpoint.objects.filter(tree_size=size).exists(), 60)
    if not signed:
        pytest.fail("no checkpoint within 60 s; worker output:\n" + worker.output())
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
