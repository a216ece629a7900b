#!/usr/bin/env python3
"""Offline verifier for an audit trail export (``shared/spec/audit.md``, "Verification").

Standalone on purpose: the Python standard library, the ``gpg`` binary and the sibling file ``merkle.py``
(RFC 9162 Merkle tree, itself standard-library only). No Django, no third-party packages, no canonicalisation
library, so a regulator can read these two files and need not trust the rest of the gateway's code. That is
why this file drives the ``gpg`` binary itself instead of going through the gateway's OpenPGP wrapper
(``audit/signing.py``, which needs python-gnupg): an independent verifier, not a second copy of the signer.

Usage::

    python audit/offline_verify.py [--quiet] [--expect-fingerprint FPR ...] EXPORT_DIR

Checks, streaming ``entries.jsonl`` with O(log n) memory and stopping at the first failure:

1. entries: indices gapless from 0; ``leaf_hash`` (when present) equals SHA-256(0x00 || leaf bytes); the leaf is
   a JSON object whose ``"index"`` equals the line's index;
2. at each checkpoint's tree size (checkpoints in file order, sizes strictly increasing): the root recomputed
   from the leaves equals ``root_hash``; the body equals ``<origin>\\n<size>\\n<base64 root>\\n``; the signature
   verifies with gpg (a temporary GNUPGHOME holding only ``public-key.asc``) and its VALIDSIG fingerprint is
   ``key_fingerprint`` (and one of ``--expect-fingerprint`` when given); the consistency proof from the previous
   checkpoint verifies (RFC 9162 §2.1.4.2);
3. no checkpoint lies beyond the last entry.

Exit status: 0 and ``OK: N entries, M checkpoints verified``; 1 and ``FAILED: <first failure>`` on stderr; 2 when
the verifier cannot run (bad arguments, no gpg).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the project's package layout
    from audit import merkle
else:  # run as a script, or from a folder holding only this file and merkle.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import merkle

HEX_DIGITS = frozenset("0123456789abcdef")


class ExportInvalid(Exception):
    """The export does not verify; the message names the first failing entry or checkpoint."""


class VerifierUnavailable(Exception):
    """The verification cannot be run at all (gpg missing or broken)."""


class Gpg:
    """gpg in a throw-away home that holds only the export's public keys (audit.md, "Checkpoints")."""

    def __init__(self, public_keys: Path) -> None:
        binary = shutil.which("gpg")
        if binary is None:
            raise VerifierUnavailable("the gpg binary is not on PATH")
        self.binary = binary
        self.home = tempfile.mkdtemp(prefix="vd-offline-")
        os.chmod(self.home, 0o700)
        self.env = {**os.environ, "GNUPGHOME": self.home, "LC_ALL": "C"}
        imported = self._run("--import", str(public_keys))
        if "[GNUPG:] IMPORT_OK" not in imported.stdout:
            raise ExportInvalid("public-key.asc: gpg imported no key from it")

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run gpg in the throw-away home with machine-readable status lines on stdout."""
        return subprocess.run(  # noqa: S603 - a fixed binary and arguments, no shell
            [self.binary, "--batch", "--no-tty", "--status-fd", "1", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def signers(self, body: bytes, signature: str) -> set[str]:
        """The fingerprints (signing key and primary key) of a valid signature of ``body``; empty if invalid."""
        with tempfile.TemporaryDirectory(dir=self.home) as work:
            body_path = Path(work) / "body"
            signature_path = Path(work) / "body.asc"
            body_path.write_bytes(body)
            signature_path.write_text(signature, encoding="utf-8")
            result = self._run("--verify", str(signature_path), str(body_path))
        if result.returncode != 0:
            return set()
        found: set[str] = set()
        for line in result.stdout.splitlines():
            fields = line.split()
            if fields[:2] == ["[GNUPG:]", "VALIDSIG"] and len(fields) >= 3:
                found.add(fields[2].upper())
                if len(fields) >= 12:
                    found.add(fields[11].upper())
        return found

    def close(self) -> None:
        """Stop any gpg daemon started for the home and remove it."""
        gpgconf = shutil.which("gpgconf")
        if gpgconf is not None:
            subprocess.run(  # noqa: S603 - a fixed binary and arguments, no shell
                [gpgconf, "--kill", "all"], env=self.env, capture_output=True, check=False
            )
        shutil.rmtree(self.home, ignore_errors=True)


def _is_int(value: object) -> bool:
    """An integer that is not a bool (JSON true is not an index)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hex_hash(value: object) -> bool:
    """A SHA-256 in lowercase hex, as audit.md writes hashes in JSON."""
    return isinstance(value, str) and len(value) == 2 * merkle.HASH_SIZE and set(value) <= HEX_DIGITS


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each line of a JSON Lines file; an unreadable line is a failure."""
    if not path.is_file():
        raise ExportInvalid(f"{path.name}: missing")
    with path.open("r", encoding="utf-8", newline="\n") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                raise ExportInvalid(f"{path.name} line {number}: not JSON ({exc})") from None


def _entries(path: Path) -> Iterator[tuple[int, bytes, str | None]]:
    """(index, leaf bytes, leaf_hash or None) per entry line."""
    for number, item in _json_lines(path):
        if not isinstance(item, dict) or not _is_int(item.get("index")) or not isinstance(item.get("leaf"), str):
            raise ExportInvalid(f"entries.jsonl line {number}: not an object with an integer index and a leaf string")
        leaf_hash = item.get("leaf_hash")
        if leaf_hash is not None and not _is_hex_hash(leaf_hash):
            raise ExportInvalid(f"entry {item['index']}: leaf_hash is not a lowercase hex SHA-256")
        try:
            leaf = item["leaf"].encode("utf-8")
        except UnicodeEncodeError:
            raise ExportInvalid(f"entry {item['index']}: the leaf is not valid Unicode text") from None
        yield item["index"], leaf, leaf_hash


CHECKPOINT_FIELDS = {
    "origin": str,
    "tree_size": int,
    "root_hash": str,
    "body": str,
    "signature": str,
    "key_fingerprint": str,
}


def _checkpoints(path: Path) -> Iterator[dict[str, Any]]:
    """The checkpoints of checkpoints.jsonl in file (signing) order, with their fields type-checked."""
    for number, item in _json_lines(path):
        if not isinstance(item, dict):
            raise ExportInvalid(f"checkpoints.jsonl line {number}: not an object")
        for name, kind in CHECKPOINT_FIELDS.items():
            if not isinstance(item.get(name), kind) or isinstance(item.get(name), bool):
                raise ExportInvalid(f"checkpoints.jsonl line {number}: {name} missing or not a {kind.__name__}")
        yield item


def expected_body(origin: str, size: int, root: bytes) -> str:
    """The C2SP tlog-checkpoint body: origin, size in decimal, base64 of the root, each line ending in LF."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


class Verification:
    """One pass over an export; see the module docstring for the checks and their order."""

    def __init__(self, directory: Path, gpg: Gpg, expected_fingerprints: set[str]) -> None:
        self.directory = directory
        self.gpg = gpg
        self.expected = expected_fingerprints
        self.frontier = merkle.Frontier()
        self.size = 0
        self.checkpoints = 0
        self.previous: tuple[int, bytes] | None = None
        self.signers: set[str] = set()

    def run(self) -> None:
        """Stream entries and checkpoints together; each checkpoint is checked when the leaves reach its size."""
        checkpoints = _checkpoints(self.directory / "checkpoints.jsonl")
        pending = next(checkpoints, None)
        for index, leaf, leaf_hash in _entries(self.directory / "entries.jsonl"):
            while pending is not None and pending["tree_size"] <= self.size:
                self.checkpoint(pending)
                pending = next(checkpoints, None)
            self.entry(index, leaf, leaf_hash)
        while pending is not None and pending["tree_size"] <= self.size:
            self.checkpoint(pending)
            pending = next(checkpoints, None)
        if pending is not None:
            raise ExportInvalid(
                f"checkpoint at {pending['tree_size']}: beyond the end of the trail ({self.size} entries)"
            )

    def entry(self, index: int, leaf: bytes, stated_hash: str | None) -> None:
        """Gapless index, leaf hash, the leaf's own "index" member; then fold the leaf into the frontier."""
        if index != self.size:
            raise ExportInvalid(f"index gap: expected {self.size}, found {index}")
        leaf_hash = merkle.leaf_hash(leaf)
        if stated_hash is not None and stated_hash != leaf_hash.hex():
            raise ExportInvalid(f"entry {index}: leaf hash does not match its bytes")
        try:
            parsed = json.loads(leaf)
        except ValueError:
            raise ExportInvalid(f"entry {index}: the leaf is not JSON") from None
        found = parsed.get("index") if isinstance(parsed, dict) else None
        if not _is_int(found) or found != index:
            raise ExportInvalid(f"entry {index}: the leaf says index {found!r}")
        for level, position, value in merkle.completed_subtrees(index, leaf_hash, self.frontier):
            self.frontier.put(level, position, value)
        self.size += 1

    def checkpoint(self, item: dict[str, Any]) -> None:
        """Increasing size, root, body, signature, consistency with the previous checkpoint."""
        size: int = item["tree_size"]
        name = f"checkpoint at {size}"
        if size < 0 or (self.previous is not None and size <= self.previous[0]):
            previous = self.previous[0] if self.previous else None
            raise ExportInvalid(f"{name}: tree size does not increase (previous checkpoint at {previous})")
        root = merkle.root(self.frontier, size)
        if item["root_hash"] != root.hex():
            raise ExportInvalid(f"{name}: root differs from the entries")
        if item["body"] != expected_body(item["origin"], size, root):
            raise ExportInvalid(f"{name}: body is not the checkpoint of its origin, size and root")
        fingerprint = item["key_fingerprint"].upper()
        if self.expected and fingerprint not in self.expected:
            raise ExportInvalid(f"{name}: signed by {fingerprint}, not by an expected key")
        if fingerprint not in self.gpg.signers(item["body"].encode("utf-8"), item["signature"]):
            raise ExportInvalid(f"{name}: signature does not verify")
        proof = item.get("consistency_proof", [])
        if not isinstance(proof, list) or not all(_is_hex_hash(h) for h in proof):
            raise ExportInvalid(f"{name}: the consistency proof is malformed")
        hashes = [bytes.fromhex(h) for h in proof]
        if self.previous is None:
            if hashes:
                raise ExportInvalid(f"{name}: the first checkpoint carries a consistency proof")
        elif not merkle.verify_consistency(self.previous[0], size, self.previous[1], root, hashes):
            raise ExportInvalid(f"{name}: the consistency proof from {self.previous[0]} does not verify")
        self.previous = (size, root)
        self.signers.add(fingerprint)
        self.checkpoints += 1


def verify_export(directory: Path, expected_fingerprints: Sequence[str] = ()) -> Verification:
    """Verify the export in ``directory``; raise :class:`ExportInvalid` naming the first failure."""
    if not directory.is_dir():
        raise ExportInvalid(f"{directory}: not a folder")
    keys = directory / "public-key.asc"
    if not keys.is_file():
        raise ExportInvalid("public-key.asc: missing")
    gpg = Gpg(keys)
    try:
        verification = Verification(directory, gpg, {f.replace(" ", "").upper() for f in expected_fingerprints})
        verification.run()
    finally:
        gpg.close()
    return verification


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description="Verify a Veilig Delen audit trail export offline.")
    parser.add_argument("export_dir", type=Path, help="folder written by 'manage.py audit_export'")
    parser.add_argument("--quiet", action="store_true", help="print nothing when the export verifies")
    parser.add_argument(
        "--expect-fingerprint",
        action="append",
        default=[],
        metavar="FPR",
        help="require every checkpoint to be signed by this key (repeat for several); compare with a fingerprint "
        "obtained independently of the export",
    )
    args = parser.parse_args(argv)
    try:
        result = verify_export(args.export_dir, args.expect_fingerprint)
    except ExportInvalid as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    except VerifierUnavailable as problem:
        print(f"cannot verify: {problem}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"OK: {result.size} entries, {result.checkpoints} checkpoints verified")
        if result.signers:
            print(f"signed by: {', '.join(sorted(result.signers))}")
        covered = result.previous[0] if result.previous else 0
        if covered < result.size:
            print(f"note: entries {covered} to {result.size - 1} are not yet covered by a checkpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
