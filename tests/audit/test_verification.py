"""Verification of the audit trail (audit.md, "Verification"): ``verify_trail`` and ``audit_verify`` pass an intact
trail and name the first failing entry or checkpoint after each tamper drill; ``audit_export`` writes an export
that the standalone ``offline_verify.py`` checks with the standard library and gpg only."""

from __future__ import annotations

import ast
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import merkle
from audit.checkpoints import checkpoint_create
from audit.export import audit_export
from audit.ledger import leaf_hash_hex
from audit.models import AuditEntry, AuditHead, Checkpoint, TreeNode
from audit.verification import VerificationResult, verify_trail

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = ROOT / "audit" / "offline_verify.py"
ASK = {
    "subject": {"bsn": "999990019"},
    "categories": ["police_incidents"],
    "purpose": "vt_safety_assessment",
    "case_reference": "CHGK-RR-2026-0001",
}
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="tamper drills bypass the append-only triggers with session_replication_role, which only PostgreSQL has",
)


@pytest.fixture(scope="module")
def gnupg_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One signing key for the module (key generation is the slow part of gpg); its agent is stopped after."""
    home = tmp_path_factory.mktemp("gnupg")
    yield home
    gpgconf = shutil.which("gpgconf")
    if gpgconf is not None:
        subprocess.run([gpgconf, "--kill", "all"], env={**os.environ, "GNUPGHOME": str(home)}, check=False)


@pytest.fixture(autouse=True)
def own_signing_key(settings: Any, gnupg_home: Path) -> None:
    settings.GATEWAY_GNUPGHOME = gnupg_home


@dataclass
class Trail:
    """History written by the request flow: checkpoints at ``first`` and ``second`` (the head)."""

    first: int
    second: int

    def request_index(self, below: int) -> int:
        """The first information-request entry before ``below``."""
        return (
            AuditEntry.objects.filter(kind="request", index__lt=below)
            .order_by("index")
            .values_list("index", flat=True)[0]
        )


def grow(partner: Callable[..., Any], times: int) -> None:
    vt = partner("veilig-thuis-rr")
    for _ in range(times):
        assert vt.ask(**ASK).status_code == 200


@pytest.fixture
def trail(partner: Callable[..., Any]) -> Trail:
    grow(partner, 2)
    first = checkpoint_create()
    grow(partner, 2)
    second = checkpoint_create()
    assert first is not None and second is not None
    assert second.tree_size == AuditHead.objects.get().size > first.tree_size
    return Trail(first.tree_size, second.tree_size)


def tamper(sql: str, params: Sequence[Any] = ()) -> None:
    """Run one statement with the append-only triggers off, as an operator with the tables' owner could."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = origin")


def verify_command(*args: str) -> str:
    out = io.StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def assert_fails(result: VerificationResult, *, index: int | None = None, checkpoint: int | None = None) -> None:
    assert not result.ok, result
    assert (result.failed_index, result.failed_checkpoint) == (index, checkpoint), result.failure
    assert result.failure is not None
    if index is not None:
        assert result.entries_checked == index
    with pytest.raises(CommandError, match="NOT intact") as raised:
        verify_command()
    assert result.failure in str(raised.value)
    assert raised.value.returncode == 1


# --- The intact trail --------------------------------------------------------------------------------------


def test_an_intact_trail_verifies(trail: Trail) -> None:
    result = verify_trail()
    assert result == VerificationResult(ok=True, entries_checked=trail.second, checkpoints_checked=2)
    assert f"{trail.second} entries and 2 checkpoints verified" in verify_command()
    assert json.loads(verify_command("--json")) == result.as_dict()


def test_entries_after_the_last_checkpoint_are_checked_too(partner: Callable[..., Any], trail: Trail) -> None:
    grow(partner, 1)
    result = verify_trail()
    assert result.ok and result.entries_checked == AuditHead.objects.get().size > trail.second


@postgres_only
def test_the_command_reports_json_on_failure(trail: Trail) -> None:
    tamper(
        'UPDATE audit_auditentry SET outcome = %s WHERE "index" = %s', ["tampered", trail.request_index(trail.first)]
    )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("audit_verify", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["ok"] is False and report["failed_index"] == trail.request_index(trail.first)


# --- Tamper drills -----------------------------------------------------------------------------------------


@postgres_only
def test_a_changed_column_is_named(trail: Trail) -> None:
    index = trail.request_index(trail.first)
    tamper('UPDATE audit_auditentry SET outcome = %s WHERE "index" = %s', ["tampered", index])
    result = verify_trail()
    assert result.failure == f"entry {index}: the columns differ from the signed leaf"
    assert_fails(result, index=index)


@postgres_only
def test_a_changed_leaf_hash_is_named(trail: Trail) -> None:
    tamper('UPDATE audit_auditentry SET leaf_hash = %s WHERE "index" = %s', ["ab" * 32, 2])
    result = verify_trail()
    assert result.failure == "entry 2: leaf hash does not match its bytes"
    assert_fails(result, index=2)


def rewrite_leaf(index: int) -> None:
    """Change an entry's outcome in its leaf, its leaf hash and its column alike: every per-entry check passes."""
    entry = AuditEntry.objects.get(index=index)
    leaf = json.loads(entry.leaf)
    leaf["outcome"] = "denied" if leaf["outcome"] != "denied" else "released"
    data = rfc8785.dumps(leaf)
    tamper(
        'UPDATE audit_auditentry SET leaf = %s, leaf_hash = %s, outcome = %s WHERE "index" = %s',
        [data.decode(), leaf_hash_hex(data), leaf["outcome"], index],
    )


def rebuild_tree() -> None:
    """Recompute and store every subtree hash from the (tampered) leaves, as a thorough forger would."""
    store = merkle.InMemoryStore()
    for index, leaf_hash in AuditEntry.objects.order_by("index").values_list("index", "leaf_hash"):
        for level, position, value in merkle.completed_subtrees(index, bytes.fromhex(leaf_hash), store):
            store.put(level, position, value)
    tamper("DELETE FROM audit_treenode")
    TreeNode.objects.bulk_create(
        TreeNode(level=level, position=position, hash=value.hex()) for (level, position), value in store.nodes.items()
    )


@postgres_only
def test_a_consistently_rewritten_leaf_is_caught_by_the_stored_tree(trail: Trail) -> None:
    index = trail.request_index(trail.first)
    rewrite_leaf(index)
    result = verify_trail()
    assert result.failure == f"entry {index}: tree node at level 0, position {index} differs from the entries"
    assert_fails(result, index=index)


@postgres_only
def test_a_rewritten_leaf_and_tree_are_caught_by_the_checkpoint(trail: Trail) -> None:
    rewrite_leaf(trail.request_index(trail.first))
    rebuild_tree()
    result = verify_trail()
    assert result.failure == f"checkpoint at {trail.first}: root differs from the entries"
    assert_fails(result, checkpoint=trail.first)


def cut_tail(size: int) -> None:
    tamper("DELETE FROM audit_auditfacet WHERE entry_index >= %s", [size])
    tamper('DELETE FROM audit_auditentry WHERE "index" >= %s', [size])
    tamper("DELETE FROM audit_treenode WHERE (position + 1) << level > %s", [size])


@postgres_only
def test_a_deleted_tail_with_the_head_set_back_is_caught_by_the_checkpoint(trail: Trail) -> None:
    cut_tail(trail.second - 2)
    AuditHead.objects.update(size=trail.second - 2)
    assert TreeNode.objects.count() == 2 * (trail.second - 2) - (trail.second - 2).bit_count()
    result = verify_trail()
    assert result.failure == f"checkpoint at {trail.second}: beyond the end of the trail ({trail.second - 2} entries)"
    assert_fails(result, checkpoint=trail.second)


@postgres_only
def test_a_deleted_tail_behind_the_head_is_named(trail: Trail) -> None:
    cut_tail(trail.second - 2)
    result = verify_trail()
    assert result.failure == f"head: the head row says {trail.second} entries but the trail has {trail.second - 2}"
    assert_fails(result, index=trail.second - 2)


@postgres_only
def test_a_deleted_entry_is_an_index_gap(trail: Trail) -> None:
    tamper("DELETE FROM audit_auditfacet WHERE entry_index = %s", [4])
    tamper('DELETE FROM audit_auditentry WHERE "index" = %s', [4])
    result = verify_trail()
    assert result.failure == "index gap: expected 4, found 5"
    assert_fails(result, index=4)


@postgres_only
def test_two_swapped_entries_are_named(trail: Trail) -> None:
    i, j = trail.request_index(trail.first), trail.second - 1
    rows = {row["index"]: row for row in AuditEntry.objects.filter(index__in=[i, j]).values()}
    tamper("DELETE FROM audit_auditfacet WHERE entry_index IN (%s, %s)", [i, j])
    tamper('DELETE FROM audit_auditentry WHERE "index" IN (%s, %s)', [i, j])
    AuditEntry.objects.bulk_create([AuditEntry(**{**rows[j], "index": i}), AuditEntry(**{**rows[i], "index": j})])
    result = verify_trail()
    assert result.failure == f"entry {i}: the leaf says index {j}"
    assert_fails(result, index=i)


@postgres_only
def test_an_older_copy_put_back_and_grown_again_is_caught_by_the_later_checkpoint(
    partner: Callable[..., Any], trail: Trail
) -> None:
    """The operator restores a backup taken at the first checkpoint (entries, tree and head) and lets the
    gateway run on: the trail is internally sound again, but the published second checkpoint no longer fits."""
    entries = list(AuditEntry.objects.filter(index__lt=trail.first).values())
    nodes = [
        n
        for n in TreeNode.objects.values("level", "position", "hash")
        if (n["position"] + 1) << n["level"] <= trail.first
    ]
    tamper("DELETE FROM audit_auditfacet")
    tamper("DELETE FROM audit_auditentry")
    tamper("DELETE FROM audit_treenode")
    AuditEntry.objects.bulk_create(AuditEntry(**row) for row in entries)
    TreeNode.objects.bulk_create(TreeNode(**node) for node in nodes)
    kept = {(n["level"], n["position"]): n["hash"] for n in nodes}
    frontier = {str(level): kept[(level, (trail.first >> level) - 1)] for level in range(trail.first.bit_length())}
    AuditHead.objects.update(size=trail.first, frontier=frontier)  # the head as it was, frontier included
    while AuditHead.objects.get().size < trail.second:
        grow(partner, 1)
    result = verify_trail()
    assert result.failure == f"checkpoint at {trail.second}: root differs from the entries"
    assert_fails(result, checkpoint=trail.second)


@postgres_only
def test_a_changed_tree_node_is_named(trail: Trail) -> None:
    tamper("UPDATE audit_treenode SET hash = %s WHERE level = 1 AND position = 1", ["00" * 32])
    result = verify_trail()
    assert result.failure == "entry 3: tree node at level 1, position 1 differs from the entries"
    assert_fails(result, index=3)


@postgres_only
def test_an_extra_tree_node_is_named(trail: Trail) -> None:
    TreeNode.objects.create(level=0, position=trail.second + 5, hash="00" * 32)
    result = verify_trail()
    assert result.failure == f"tree: 1 stored tree nodes do not belong to the {trail.second} entries"
    assert_fails(result)


@postgres_only
def test_a_changed_frontier_in_the_head_is_named(trail: Trail) -> None:
    """The next append would combine with the frontier in the head row (audit.ledger): it must be the tree's."""
    tamper(
        """UPDATE audit_audithead SET frontier = jsonb_set(frontier, '{0}', to_jsonb(%s::text)) WHERE id = 1""",
        ["00" * 32],
    )
    result = verify_trail()
    assert result.failure == "head: the Merkle frontier for the next entry differs from the tree"
    assert_fails(result)


@postgres_only
def test_a_missing_tree_node_is_named(trail: Trail) -> None:
    tamper("DELETE FROM audit_treenode WHERE level = 0 AND position = 5")
    result = verify_trail()
    assert result.failure == "entry 5: tree node at level 0, position 5 is missing"
    assert_fails(result, index=5)


@pytest.mark.parametrize("chunk", [1, 7])
def test_reading_in_chunks_checks_every_stored_node(trail: Trail, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Entries and their tree nodes are read a chunk at a time; nodes spanning chunks are still each compared."""
    monkeypatch.setattr("audit.verification.CHUNK_SIZE", chunk)
    assert verify_trail() == VerificationResult(ok=True, entries_checked=trail.second, checkpoints_checked=2)
    if connection.vendor != "postgresql":
        return
    top = TreeNode.objects.order_by("-level", "position").first()
    assert top is not None and top.level >= 3
    tamper(
        "UPDATE audit_treenode SET hash = %s WHERE level = %s AND position = %s", ["00" * 32, top.level, top.position]
    )
    completed_by = ((top.position + 1) << top.level) - 1
    result = verify_trail()
    assert result.failure == (
        f"entry {completed_by}: tree node at level {top.level}, position {top.position} differs from the entries"
    )
    assert_fails(result, index=completed_by)


def other_signature(trail: Trail) -> str:
    return Checkpoint.objects.get(tree_size=trail.second).signature


CHECKPOINT_DRILLS: dict[str, tuple[str, Callable[[Trail], Any], str]] = {
    "signature": ("signature", other_signature, "signature does not verify"),
    "key": ("key_fingerprint", lambda trail: "F" * 40, f"signing key {'F' * 40} is not recorded"),
    "root": ("root_hash", lambda trail: "ab" * 32, "root differs from the entries"),
    "body": (
        "body",
        lambda trail: (
            "elsewhere/audit/v1\n" + "\n".join(Checkpoint.objects.get(tree_size=trail.first).body.split("\n")[1:])
        ),
        "body is not the checkpoint of its origin, size and root",
    ),
}


@postgres_only
@pytest.mark.parametrize("drill", CHECKPOINT_DRILLS)
def test_an_altered_checkpoint_is_named(trail: Trail, drill: str) -> None:
    column, value, message = CHECKPOINT_DRILLS[drill]
    tamper(f"UPDATE audit_checkpoint SET {column} = %s WHERE tree_size = %s", [value(trail), trail.first])
    result = verify_trail()
    assert result.failure == f"checkpoint at {trail.first}: {message}"
    assert_fails(result, checkpoint=trail.first)


@postgres_only
def test_an_altered_consistency_proof_is_named(trail: Trail) -> None:
    proof = Checkpoint.objects.get(tree_size=trail.second).consistency_proof
    proof[-1] = "cd" * 32
    tamper(
        "UPDATE audit_checkpoint SET consistency_proof = %s::jsonb WHERE tree_size = %s",
        [json.dumps(proof), trail.second],
    )
    result = verify_trail()
    assert result.failure == f"checkpoint at {trail.second}: the consistency proof from {trail.first} does not verify"
    assert_fails(result, checkpoint=trail.second)


# --- Export and the offline verifier ------------------------------------------------------------------------


def offline(
    directory: Path, *args: str, script: Path = OFFLINE, python: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run the standalone verifier as a regulator would: a clean environment, no Django settings."""
    return subprocess.run(
        [sys.executable, *python, str(script), *args, str(directory)],
        env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def export(trail: Trail, tmp_path: Path) -> Path:
    directory = tmp_path / "export"
    summary = audit_export(directory)
    assert (summary.entries, summary.checkpoints, summary.keys) == (trail.second, 2, 1)
    return directory


def edit_line(path: Path, number: int, edit: Callable[[dict[str, Any]], None]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    item = json.loads(lines[number])
    edit(item)
    lines[number] = json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_the_export_holds_the_exact_leaf_bytes(trail: Trail, export: Path) -> None:
    lines = (export / "entries.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == trail.second + 1
    for line, entry in zip(lines, AuditEntry.objects.order_by("index"), strict=False):
        item = json.loads(line)
        assert item["index"] == entry.index
        assert item["leaf"].encode("utf-8") == entry.leaf.encode("utf-8")
        assert leaf_hash_hex(item["leaf"].encode("utf-8")) == item["leaf_hash"] == entry.leaf_hash
    checkpoints = [json.loads(line) for line in (export / "checkpoints.jsonl").read_text().splitlines()]
    assert [c["tree_size"] for c in checkpoints] == [trail.first, trail.second]
    assert checkpoints[0]["consistency_proof"] == [] and checkpoints[1]["consistency_proof"]
    assert (export / "public-key.asc").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert "offline_verify.py" in (export / "README.txt").read_text()


def test_an_intact_export_verifies_offline(trail: Trail, export: Path, tmp_path: Path) -> None:
    fingerprint = Checkpoint.objects.get(tree_size=trail.first).key_fingerprint
    done = offline(export, "--expect-fingerprint", fingerprint)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"OK: {trail.second} entries, 2 checkpoints verified"
    assert offline(export, "--quiet").stdout == ""
    # Copied on its own beside merkle.py and run isolated, without site-packages: nothing else is needed.
    alone = tmp_path / "verifier"
    alone.mkdir()
    for name in ("offline_verify.py", "merkle.py"):
        shutil.copy(ROOT / "audit" / name, alone / name)
    isolated = offline(export, script=alone / "offline_verify.py", python=("-I", "-S"))
    assert isolated.returncode == 0, isolated.stderr
    wrong_key = offline(export, "--expect-fingerprint", "0" * 40)
    assert wrong_key.returncode == 1
    assert f"checkpoint at {trail.first}: signed by {fingerprint}, not by an expected key" in wrong_key.stderr


def corrupt_leaf_character(trail: Trail, export: Path) -> str:
    index = trail.request_index(trail.first)
    edit_line(
        export / "entries.jsonl", index, lambda item: item.update(leaf=item["leaf"].replace('"request"', '"requesT"'))
    )
    return f"entry {index}: leaf hash does not match its bytes"


def corrupt_leaf_and_hash(trail: Trail, export: Path) -> str:
    def edit(item: dict[str, Any]) -> None:
        item["leaf"] = item["leaf"].replace('"request"', '"requesT"')
        item["leaf_hash"] = leaf_hash_hex(item["leaf"].encode())

    edit_line(export / "entries.jsonl", trail.request_index(trail.first), edit)
    return f"checkpoint at {trail.first}: root differs from the entries"


def corrupt_leaf_index(trail: Trail, export: Path) -> str:
    def edit(item: dict[str, Any]) -> None:
        item["leaf"] = item["leaf"].replace('"index":3,', '"index":4,')
        item["leaf_hash"] = leaf_hash_hex(item["leaf"].encode())

    edit_line(export / "entries.jsonl", 3, edit)
    return "entry 3: the leaf says index 4"


def corrupt_signature(trail: Trail, export: Path) -> str:
    def edit(item: dict[str, Any]) -> None:
        lines = item["signature"].split("\n")
        lines[2] = lines[2][:10] + ("A" if lines[2][10] != "A" else "B") + lines[2][11:]
        item["signature"] = "\n".join(lines)

    edit_line(export / "checkpoints.jsonl", 1, edit)
    return f"checkpoint at {trail.second}: signature does not verify"


def drop_last_lines(trail: Trail, export: Path) -> str:
    path = export / "entries.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    return f"checkpoint at {trail.second}: beyond the end of the trail ({trail.second - 1} entries)"


def drop_a_line(trail: Trail, export: Path) -> str:
    path = export / "entries.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2] + lines[3:]))
    return "index gap: expected 2, found 3"


def corrupt_proof(trail: Trail, export: Path) -> str:
    edit_line(
        export / "checkpoints.jsonl", 1, lambda item: item.update(consistency_proof=item["consistency_proof"][1:])
    )
    return f"checkpoint at {trail.second}: the consistency proof from {trail.first} does not verify"


CORRUPTIONS = [
    corrupt_leaf_character,
    corrupt_leaf_and_hash,
    corrupt_leaf_index,
    corrupt_signature,
    drop_last_lines,
    drop_a_line,
    corrupt_proof,
]


def test_a_corrupted_export_fails_offline_naming_the_first_failure(trail: Trail, export: Path, tmp_path: Path) -> None:
    """Each corruption on its own copy of one export (building the history is the slow part)."""
    for corrupt in CORRUPTIONS:
        copy = shutil.copytree(export, tmp_path / corrupt.__name__)
        expected = corrupt(trail, copy)
        done = offline(copy)
        assert (done.returncode, done.stderr.strip(), done.stdout) == (1, f"FAILED: {expected}", ""), corrupt.__name__


def imported_modules(path: Path) -> tuple[set[str], set[str]]:
    """Top-level names of the modules a file imports: at run time, and only for type checkers."""
    tree = ast.parse(path.read_text())
    typing_only: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            typing_only.update(n for statement in node.body for n in ast.walk(statement))
    runtime: set[str] = set()
    checking: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports would need the package"
            names = [node.module or ""]
        (checking if node in typing_only else runtime).update(name.split(".")[0] for name in names)
    return runtime, checking


def test_the_offline_verifier_imports_only_the_standard_library_and_merkle() -> None:
    runtime, checking = imported_modules(OFFLINE)
    assert "merkle" in runtime
    assert runtime - {"merkle"} <= sys.stdlib_module_names, runtime - sys.stdlib_module_names
    assert "django" not in runtime and "gnupg" not in runtime and "rfc8785" not in runtime
    assert checking <= {"audit"}
    merkle_runtime, _ = imported_modules(ROOT / "audit" / "merkle.py")
    assert merkle_runtime <= sys.stdlib_module_names


# --- Reading ahead in a thread, gpg in the background ----------------------------------------------------------


def reader_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("audit-verification")]


@postgres_only
@pytest.mark.parametrize("chunk", [1, 7, 2000])
def test_the_reading_thread_sees_exactly_the_rows_of_the_orm(
    trail: Trail, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The chunks read by plain psycopg in the reading thread, in this test's transaction (uncommitted rows
    included), equal the ORM's: every entry's columns, with its time text and JSON text, and every tree node."""
    monkeypatch.setattr("audit.verification.CHUNK_SIZE", chunk)
    from audit.verification import _chunks, _orm_chunks

    threaded = list(_chunks())
    assert threaded == list(_orm_chunks())
    assert sum(len(rows) for rows, _ in threaded) == trail.second
    assert sum(len(nodes) for _, nodes in threaded) == 2 * trail.second - trail.second.bit_count()
    assert reader_threads() == []


@postgres_only
def test_a_failure_in_the_reading_thread_is_raised_not_passed(trail: Trail, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reading thread breaks down after the first chunk: verify_trail raises its error, it does not report the
    entries read so far as the trail; the thread is gone and the connection still answers."""
    import audit.verification

    monkeypatch.setattr("audit.verification.CHUNK_SIZE", 3)
    real = audit.verification._pg_chunks

    def breaking(raw: Any) -> Iterator[Any]:
        chunks = real(raw)
        yield next(chunks)
        chunks.close()
        raise RuntimeError("the reader broke down")

    monkeypatch.setattr("audit.verification._pg_chunks", breaking)
    with pytest.raises(RuntimeError, match="the reader broke down"):
        verify_trail()
    assert reader_threads() == []
    assert AuditEntry.objects.count() == trail.second


@postgres_only
def test_a_failure_stops_the_reading_thread(trail: Trail, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks stop at the first failure while the thread has chunks ready: the thread stops too, and its
    cursor is closed, so the connection is free for the next run."""
    monkeypatch.setattr("audit.verification.CHUNK_SIZE", 1)
    tamper("UPDATE audit_auditentry SET purpose = 'changed' WHERE index = 2")
    result = verify_trail()
    assert result.failure == "entry 2: the columns differ from the signed leaf"
    assert reader_threads() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        assert cursor.fetchone() == (0,)
    assert verify_trail().failure == result.failure


def test_read_ahead_gives_the_items_in_order_then_the_error() -> None:
    from audit.verification import _read_ahead

    closed: list[bool] = []

    def items() -> Iterator[int]:
        try:
            yield from range(10)
            raise ValueError("after ten")
        finally:
            closed.append(True)

    seen: list[int] = []
    with pytest.raises(ValueError, match="after ten"):
        for item in _read_ahead(items(), 2):
            seen.append(item)
    assert seen == list(range(10))
    assert closed == [True]
    assert reader_threads() == []


def test_read_ahead_closed_early_stops_the_thread_and_closes_the_source() -> None:
    from audit.verification import _read_ahead

    closed: list[bool] = []

    def endless() -> Iterator[int]:
        try:
            yield from itertools.count()
        finally:
            closed.append(True)

    reader = _read_ahead(endless(), 2)
    assert [next(reader) for _ in range(5)] == [0, 1, 2, 3, 4]
    reader.close()
    assert closed == [True]
    assert reader_threads() == []


@postgres_only
def test_an_error_of_gpg_in_the_background_is_raised(trail: Trail, monkeypatch: pytest.MonkeyPatch) -> None:
    """gpg checks the signatures in background threads; when it cannot run, verify_trail raises, as it did when
    gpg ran in place, and does not count the checkpoint as verified."""

    def broken(body: bytes, signature: str, public: str) -> str | None:
        raise OSError("gpg is not there")

    monkeypatch.setattr("audit.verification.verify_detached", broken)
    with pytest.raises(OSError, match="gpg is not there"):
        verify_trail()
    assert reader_threads() == []


@postgres_only
def test_signatures_are_checked_for_their_own_checkpoint(trail: Trail, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each checkpoint's verdict is its own, though gpg checked them ahead and in parallel: a signature that
    verifies only for the second checkpoint's body fails the first, named as the first."""
    import audit.verification

    real = audit.verification.verify_detached
    second = Checkpoint.objects.get(tree_size=trail.second)

    def only_second(body: bytes, signature: str, public: str) -> str | None:
        return real(body, signature, public) if body == second.body.encode() else None

    monkeypatch.setattr("audit.verification.verify_detached", only_second)
    result = verify_trail()
    assert result.failure == f"checkpoint at {trail.first}: signature does not verify"
    assert (result.failed_checkpoint, result.checkpoints_checked) == (trail.first, 0)


@postgres_only
@pytest.mark.parametrize("chunk", [3, 2000])
def test_a_failure_after_a_checkpoint_in_the_same_chunk_is_named_after_it(
    trail: Trail, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Entries are checked a run at a time up to the next checkpoint's size; a tree node changed after the first
    checkpoint, in the same chunk, fails its entry with the first checkpoint verified and counted once."""
    monkeypatch.setattr("audit.verification.CHUNK_SIZE", chunk)
    index = trail.first + 1
    tamper("UPDATE audit_treenode SET hash = %s WHERE level = 0 AND position = %s", ["00" * 32, index])
    result = verify_trail()
    assert result.failure == f"entry {index}: tree node at level 0, position {index} differs from the entries"
    assert (result.failed_index, result.entries_checked, result.checkpoints_checked) == (index, index, 1)


@pytest.mark.parametrize("chunk", [1, 7, 2000])
def test_an_intact_trail_takes_the_quick_pass_only(trail: Trail, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """The stored nodes come in the order the entries complete them, so an intact trail never needs the entry by
    entry checks (they are there to name a failure)."""
    from audit.verification import _Verifier

    def not_needed(*args: Any) -> None:
        raise AssertionError("an intact entry went through _check_entry")

    monkeypatch.setattr("audit.verification.CHUNK_SIZE", chunk)
    monkeypatch.setattr(_Verifier, "_check_entry", not_needed)
    assert verify_trail() == VerificationResult(ok=True, entries_checked=trail.second, checkpoints_checked=2)
