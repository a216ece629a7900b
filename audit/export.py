"""Export of the audit trail for offline verification (``shared/spec/audit.md``, "Verification").

``audit_export DIR`` writes what a regulator needs to check the trail without trusting the gateway's code:

- ``entries.jsonl``: one JSON object per line, in index order, ``{"index": n, "leaf": "...", "leaf_hash": "..."}``.
  ``leaf`` is a JSON *string* whose value is the exact canonical leaf text, so ``json.loads(line)["leaf"]
  .encode("utf-8")`` gives back the exact bytes that were hashed (JSON string escaping is lossless; the file is
  UTF-8). ``leaf_hash`` (lowercase hex, as stored) is an addition to the ``{"index", "leaf"}`` of audit.md: it lets
  the verifier name the entry whose bytes were damaged, where the signed roots alone only say "somewhere
  before this checkpoint". The signed roots remain the authority.
- ``checkpoints.jsonl``: one object per checkpoint in signing order (origin, tree_size, root_hash, body,
  signature, key_fingerprint, signed_at, consistency_proof).
- ``public-key.asc``: every public signing key the gateway has recorded, ASCII-armoured, concatenated.
- ``README.txt``: how to run ``audit/offline_verify.py`` on the folder.

Everything comes from one snapshot (:func:`audit.verification.trail_snapshot`), streamed with bounded memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.models import AuditEntry, Checkpoint, SigningKeyRecord
from audit.verification import CHUNK_SIZE, trail_snapshot

README = """\
Veilig Delen audit trail export
===============================

Files
-----
entries.jsonl      One entry per line, in index order: {{"index": n, "leaf": "...", "leaf_hash": "..."}}.
                   "leaf" is a JSON string holding the exact RFC 8785 canonical leaf text; its UTF-8
                   encoding is the Merkle leaf (RFC 9162: leaf hash = SHA-256(0x00 || leaf)).
checkpoints.jsonl  One signed checkpoint per line, in signing order: origin, tree_size, root_hash (hex),
                   body (C2SP tlog-checkpoint: "<origin>\\n<size>\\n<base64 root>\\n"), signature (OpenPGP,
                   ASCII-armoured, detached, over body), key_fingerprint, signed_at, consistency_proof (hex,
                   from the previous checkpoint, RFC 9162 section 2.1.4).
public-key.asc     The gateway's public signing key(s).

This export: {entries} entries, {checkpoints} checkpoints{last}.
Signing key fingerprints: {fingerprints}

How to verify
-------------
1. Take offline_verify.py and merkle.py from the audit/ folder of the Veilig Delen source code, at a
   version you have reviewed (they use only the Python standard library and the gpg binary). Put them
   in one folder.
2. Compare the fingerprint(s) above with the one the gateway publishes at /api/v1/audit/public-key, or
   better, with one you received from the operator out of band. The export itself cannot vouch for its key.
3. Run, with Python 3.11 or later and GnuPG 2 installed:

       python3 offline_verify.py --expect-fingerprint FINGERPRINT EXPORT_DIR

   It recomputes every leaf hash and the Merkle root at every checkpoint, checks each checkpoint body,
   verifies each signature with gpg in a temporary keyring holding only public-key.asc, and verifies the
   consistency proof between consecutive checkpoints. Exit status 0 and "OK: N entries, M checkpoints
   verified" when everything checks; exit status 1 and the first failing entry or checkpoint otherwise.

Entries after the last checkpoint are not yet covered by a signature. A checkpoint you obtained earlier
from the gateway (GET /api/v1/audit/checkpoints/latest) must appear in checkpoints.jsonl with the same
root: if it does not, the gateway has shown you two different histories.
"""


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`audit_export` wrote."""

    directory: Path
    entries: int
    checkpoints: int
    keys: int
    last_checkpoint: int | None


def _line(value: dict[str, Any]) -> str:
    """One JSON Lines record, UTF-8 text kept as is (JSON escaping only where JSON requires it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def audit_export(directory: Path) -> ExportSummary:
    """Write the offline-verifiable export of audit.md "Verification" to ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = checkpoints = 0
    last: int | None = None
    with trail_snapshot():
        with (directory / "entries.jsonl").open("w", encoding="utf-8", newline="\n") as out:
            rows = AuditEntry.objects.order_by("index").values_list("index", "leaf", "leaf_hash")
            for index, leaf, leaf_hash in rows.iterator(chunk_size=CHUNK_SIZE):
                out.write(_line({"index": index, "leaf": leaf, "leaf_hash": leaf_hash}))
                entries += 1
        with (directory / "checkpoints.jsonl").open("w", encoding="utf-8", newline="\n") as out:
            for checkpoint in Checkpoint.objects.order_by("pk").iterator(chunk_size=CHUNK_SIZE):
                out.write(
                    _line(
                        {
                            "origin": checkpoint.origin,
                            "tree_size": checkpoint.tree_size,
                            "root_hash": checkpoint.root_hash,
                            "body": checkpoint.body,
                            "signature": checkpoint.signature,
                            "key_fingerprint": checkpoint.key_fingerprint,
                            "signed_at": checkpoint.signed_at.isoformat().replace("+00:00", "Z"),
                            "consistency_proof": checkpoint.consistency_proof,
                        }
                    )
                )
                checkpoints += 1
                last = checkpoint.tree_size
        keys = list(SigningKeyRecord.objects.order_by("created_at", "pk").values_list("fingerprint", "public_armored"))
    armored = "".join(text if text.endswith("\n") else text + "\n" for _, text in keys)
    (directory / "public-key.asc").write_text(armored, encoding="utf-8", newline="\n")
    readme = README.format(
        entries=entries,
        checkpoints=checkpoints,
        last=f", the last at tree size {last}" if last is not None else "",
        fingerprints=", ".join(fingerprint for fingerprint, _ in keys) or "(none)",
    )
    (directory / "README.txt").write_text(readme, encoding="utf-8", newline="\n")
    return ExportSummary(
        directory=directory, entries=entries, checkpoints=checkpoints, keys=len(keys), last_checkpoint=last
    )
