"""The trail against a checkpoint kept outside the database (``audit_checkpoint_check``; audit.md, "Checkpoints"):
consistent when the trail extends it; "shorter" for a restored backup older than it; "fork" for another history;
"invalid" for anything the gateway did not sign."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit import signing
from audit.checkpoint_check import checkpoint_check, checkpoint_parse
from audit.checkpoints import checkpoint_body, checkpoint_create, checkpoint_json, signing_key_current
from audit.models import AuditHead
from tests.audit.test_verification import cut_tail, grow, postgres_only


@pytest.fixture(scope="module")
def gnupg_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("gnupg")
    yield home
    gpgconf = shutil.which("gpgconf")
    if gpgconf is not None:
        subprocess.run([gpgconf, "--kill", "all"], env={**os.environ, "GNUPGHOME": str(home)}, check=False)


@pytest.fixture(autouse=True)
def own_signing_key(settings: Any, gnupg_home: Path) -> None:
    settings.GATEWAY_GNUPGHOME = gnupg_home


@pytest.fixture
def published(partner: Callable[..., Any]) -> dict[str, Any]:
    """A checkpoint as a partner saved it from /api/v1/audit/checkpoints/latest."""
    grow(partner, 2)
    checkpoint = checkpoint_create()
    assert checkpoint is not None
    return json.loads(json.dumps(checkpoint_json(checkpoint)))


def signed(size: int, root: bytes) -> dict[str, Any]:
    """A checkpoint the gateway's key signed for any size and root (what a partner would hold of another history)."""
    key = signing_key_current()
    body = checkpoint_body(published_origin(), size, root)
    return {
        "origin": published_origin(),
        "tree_size": size,
        "root_hash": root.hex(),
        "body": body,
        "signature": signing.sign_detached(body.encode(), key),
        "key_fingerprint": key.fingerprint,
        "signed_at": "2026-12-01T10:00:00Z",
    }


def published_origin() -> str:
    from django.conf import settings

    return str(settings.GATEWAY_AUDIT_ORIGIN)


def test_the_trail_extends_a_published_checkpoint(published: dict[str, Any], partner: Callable[..., Any]) -> None:
    assert checkpoint_check(published).ok
    grow(partner, 1)  # later entries: the consistency proof from the saved size to the present one verifies
    result = checkpoint_check(published)
    assert result.ok and result.trail_size > published["tree_size"]
    assert "consistent" in result.message


@postgres_only
def test_a_restored_older_backup_is_shorter_than_the_published_checkpoint(published: dict[str, Any]) -> None:
    size = published["tree_size"]
    cut_tail(size - 3)  # what a backup taken three entries earlier holds
    AuditHead.objects.update(size=size - 3)
    result = checkpoint_check(published)
    assert result.problem == "shorter"
    assert f"this database holds {size - 3} entries" in result.message
    assert f"Entries {size - 3} to {size - 1} are missing" in result.message


def test_another_history_under_a_valid_signature_is_a_fork(published: dict[str, Any]) -> None:
    result = checkpoint_check(signed(published["tree_size"], bytes(32)))
    assert result.problem == "fork" and "FORKED" in result.message


def test_a_longer_signed_checkpoint_than_the_trail_is_shorter(published: dict[str, Any]) -> None:
    result = checkpoint_check(signed(published["tree_size"] + 5, bytes(32)))
    assert result.problem == "shorter"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"root_hash": "00" * 32}, "its body is not the checkpoint"),
        ({"origin": "elsewhere.example/audit/v1"}, "its body is not the checkpoint"),
        ({"signature": "not a signature"}, "its signature does not verify"),
        ({"key_fingerprint": "0" * 40}, "is not recorded in this database"),
    ],
)
def test_what_the_gateway_did_not_sign_is_invalid(
    published: dict[str, Any], change: dict[str, Any], reason: str
) -> None:
    result = checkpoint_check({**published, **change})
    assert result.problem == "invalid" and reason in result.message


def test_the_partners_own_copy_of_the_key_is_used(published: dict[str, Any]) -> None:
    key = signing_key_current().public_armored
    assert checkpoint_check({**published, "key_fingerprint": published["key_fingerprint"]}, public_key=key).ok


@pytest.mark.parametrize("text", ["[]", "{", json.dumps({"tree_size": "7"})])
def test_a_file_that_is_no_checkpoint_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        checkpoint_parse(text)


@postgres_only
def test_the_command_exits_1_naming_each_failing_checkpoint(published: dict[str, Any], tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(published))
    out = io.StringIO()
    call_command("audit_checkpoint_check", str(good), stdout=out)
    assert out.getvalue().startswith("OK good.json: checkpoint at")
    size = published["tree_size"]
    cut_tail(size - 1)
    AuditHead.objects.update(size=size - 1)
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("audit_checkpoint_check", str(good), stdout=io.StringIO(), stderr=err)
    assert raised.value.returncode == 1
    assert "FAILED good.json" in err.getvalue() and "SHORTER" in err.getvalue()
