"""The audit API (api.md, "Audit trail"): checkpoints and proofs a partner can check with its own tools."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audit import merkle
from audit.checkpoints import checkpoint_create
from audit.models import AuditEntry, AuditHead

ASK = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}


@pytest.fixture
def keyring(gnupg_home: Path) -> Path:
    return gnupg_home


@pytest.fixture
def auditor(partner: Any) -> Any:
    return partner("om-rotterdam", scope="audit")


def grow(partner: Any, times: int) -> None:
    vt = partner("veilig-thuis-rr")
    for _ in range(times):
        assert vt.ask(**ASK).status_code == 200


def test_no_checkpoint_yet_is_404(auditor: Any) -> None:
    response = auditor.get("/api/v1/audit/checkpoints/latest")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_latest_checkpoint_verifies_with_stock_gpg(
    partner: Any, auditor: Any, keyring: Path, tmp_path: Path
) -> None:
    grow(partner, 3)
    checkpoint_create()
    latest = auditor.get("/api/v1/audit/checkpoints/latest").json()
    size = AuditHead.objects.get().size
    assert latest["tree_size"] == size
    lines = latest["body"].split("\n")
    assert lines[0] == "veilig-delen.local/audit/v1" and lines[1] == str(size) and lines[3] == ""
    assert set(latest) == {"origin", "tree_size", "root_hash", "body", "signature", "key_fingerprint", "signed_at"}

    public_key = Client().get("/api/v1/audit/public-key")  # no token needed
    assert public_key.status_code == 200
    assert public_key.content.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    home = tmp_path / "verifier"
    home.mkdir(mode=0o700)
    (tmp_path / "key.asc").write_bytes(public_key.content)
    (tmp_path / "body").write_text(latest["body"])
    (tmp_path / "body.asc").write_text(latest["signature"])
    gpg = ["gpg", "--batch", "--homedir", str(home)]
    subprocess.run([*gpg, "--import", str(tmp_path / "key.asc")], check=True, capture_output=True)
    verified = subprocess.run(
        [*gpg, "--status-fd", "1", "--verify", str(tmp_path / "body.asc"), str(tmp_path / "body")],
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0
    assert f"VALIDSIG {latest['key_fingerprint']}" in verified.stdout
    (tmp_path / "body").write_text(latest["body"].replace(str(size), str(size + 1)))
    forged = subprocess.run([*gpg, "--verify", str(tmp_path / "body.asc"), str(tmp_path / "body")], capture_output=True)
    assert forged.returncode != 0


def test_checkpoints_after_a_size_and_their_consistency(partner: Any, auditor: Any, keyring: Path) -> None:
    grow(partner, 2)
    first = checkpoint_create()
    grow(partner, 3)
    second = checkpoint_create()
    assert first is not None and second is not None
    assert checkpoint_create() is None  # nothing new: no second view of the same size
    listed = auditor.get("/api/v1/audit/checkpoints", data={"after": first.tree_size}).json()["checkpoints"]
    assert [c["tree_size"] for c in listed] == [second.tree_size]
    proof = auditor.get(
        "/api/v1/audit/proofs/consistency", data={"first": first.tree_size, "second": second.tree_size}
    ).json()
    assert proof["first_root"] == first.root_hash and proof["second_root"] == second.root_hash
    hashes = [bytes.fromhex(h) for h in proof["proof"]]
    assert merkle.verify_consistency(
        first.tree_size, second.tree_size, bytes.fromhex(first.root_hash), bytes.fromhex(second.root_hash), hashes
    )
    assert not merkle.verify_consistency(
        first.tree_size, second.tree_size, bytes.fromhex(second.root_hash), bytes.fromhex(first.root_hash), hashes
    )


def test_every_entry_has_an_inclusion_proof_against_the_checkpoint(partner: Any, auditor: Any, keyring: Path) -> None:
    grow(partner, 4)
    checkpoint = checkpoint_create()
    assert checkpoint is not None
    root = bytes.fromhex(checkpoint.root_hash)
    for index in range(checkpoint.tree_size):
        body = auditor.get(
            "/api/v1/audit/proofs/inclusion", data={"index": index, "tree_size": checkpoint.tree_size}
        ).json()
        assert body["root_hash"] == checkpoint.root_hash
        proof = [bytes.fromhex(h) for h in body["proof"]]
        assert merkle.verify_inclusion(bytes.fromhex(body["leaf_hash"]), index, checkpoint.tree_size, proof, root)
        if index:
            assert not merkle.verify_inclusion(
                bytes.fromhex(body["leaf_hash"]), index - 1, checkpoint.tree_size, proof, root
            )


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/audit/checkpoints", {}, "after"),
        ("/api/v1/audit/checkpoints", {"after": "-1"}, "after"),
        ("/api/v1/audit/checkpoints", {"after": "ten"}, "after"),
        ("/api/v1/audit/proofs/inclusion", {"tree_size": "1"}, "index"),
        ("/api/v1/audit/proofs/inclusion", {"index": "0"}, "tree_size"),
        ("/api/v1/audit/proofs/inclusion", {"index": "0", "tree_size": "0"}, "tree_size"),
        ("/api/v1/audit/proofs/inclusion", {"index": "2", "tree_size": "2"}, "index"),
        ("/api/v1/audit/proofs/inclusion", {"index": "0", "tree_size": "99999999999"}, "tree_size"),
        ("/api/v1/audit/proofs/inclusion", {"index": "0", "tree_size": "9" * 40}, "tree_size"),
        ("/api/v1/audit/proofs/inclusion", {"index": "5", "tree_size": "9" * 19}, "tree_size"),  # beyond a bigint
        ("/api/v1/audit/proofs/inclusion", {"index": "99999999999", "tree_size": "99999999999"}, "tree_size"),
        ("/api/v1/audit/proofs/inclusion", {"index": "1.5", "tree_size": "5"}, "index"),
        ("/api/v1/audit/proofs/inclusion", {"index": "٣", "tree_size": "5"}, "index"),
        ("/api/v1/audit/proofs/consistency", {"first": "0", "second": "3"}, "first"),
        ("/api/v1/audit/proofs/consistency", {"first": "4", "second": "3"}, "first"),
        ("/api/v1/audit/proofs/consistency", {"first": "1", "second": "99999999"}, "second"),
        ("/api/v1/audit/proofs/consistency", {"first": "1", "second": "9" * 19}, "second"),
        ("/api/v1/audit/proofs/consistency", {"first": "99999999999", "second": "99999999"}, "second"),
        ("/api/v1/audit/proofs/consistency", {"first": "1"}, "second"),
    ],
)
def test_bad_parameters_are_400(partner: Any, auditor: Any, path: str, params: dict[str, str], field: str) -> None:
    grow(partner, 1)
    size = AuditHead.objects.get().size
    response = auditor.get(path, data=params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert AuditEntry.objects.get(index=size).kind == "rejected"  # the refusal is on the trail


def test_the_audit_scope_is_needed(partner: Any) -> None:
    requests_only = partner("veilig-thuis-rr", scope="requests")
    response = requests_only.get("/api/v1/audit/checkpoints/latest")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert Client().get("/api/v1/audit/checkpoints/latest").status_code == 401


def test_a_proof_costs_two_queries_whatever_the_size(
    partner: Any, auditor: Any, keyring: Path, django_assert_num_queries: Any
) -> None:
    """The token, then the trail's size with the tree's nodes (issue 12: at most 3)."""
    grow(partner, 3)
    size = AuditHead.objects.get().size
    for index, tree_size in [(0, 1), (1, 2), (3, size // 2), (size // 3, size), (size - 1, size)]:
        with django_assert_num_queries(2):
            response = auditor.get("/api/v1/audit/proofs/inclusion", data={"index": index, "tree_size": tree_size})
        assert response.status_code == 200
    for first, second in [(1, 1), (1, 2), (3, size // 2), (size // 3, size), (size - 1, size)]:
        with django_assert_num_queries(2):
            response = auditor.get("/api/v1/audit/proofs/consistency", data={"first": first, "second": second})
        assert response.status_code == 200
