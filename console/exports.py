"""Signed exports of a filtered selection of the trail, for a regulator (product.md, "Privacy officers": "export
signed reports for a regulator").

An export is a ZIP with the selection as CSV or JSON, a detached OpenPGP signature of that file by the gateway's
signing key (the key that signs checkpoints), the gateway's public key and a README. When the officer has a public
key on file (:attr:`audit.models.OfficerProfile.public_key`), the data file and its signature are encrypted to that
key, so the ZIP can travel by ordinary means. gpg runs here: this is an officer's export, not a partner's request.

The selection is :func:`console.filters.filtered_entries`, so an organisation-scoped officer exports only
their part of the trail. Rows stream from the database into temporary files (at most :data:`EXPORT_ROW_CAP`).
The export is built first, then its ``console_view`` entry is written and committed; only then is it handed out.
If the entry cannot be written, there is no export (fail closed: reads of the audit log are audited).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.checkpoints import signing_key_current
from audit.ledger import Actor, AuditWriteError, EntryDraft, audit_append, format_time
from audit.models import AuditEntry, AuditKind, OfficerProfile
from audit.signing import RecipientKeyUnreadable, SigningError, SigningKey, encrypt_files_to, sign_file_detached
from audit.verification import CHUNK_SIZE
from console.filters import EntryFilterForm, filtered_entries

#: At most this many entries in one export (the newest of the selection); the README says when it was cut.
EXPORT_ROW_CAP = 100_000
FORMATS = ("csv", "json")
COLUMNS = (
    "index",
    "at",
    "kind",
    "organisation",
    "client_id",
    "acting_user",
    "user",
    "subject",
    "purpose",
    "case_reference",
    "emergency",
    "outcome",
    "policy_version",
    "categories",
    "holders",
    "legal_bases",
    "reason_codes",
    "leaf_hash",
)
LIST_COLUMNS = ("categories", "holders", "legal_bases", "reason_codes")
PUBLIC_KEY_NAME = "gateway-public-key.asc"
#: A spreadsheet runs a cell that starts with one of these as a formula; such cells get a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(RuntimeError):
    """The export could not be signed or encrypted; nothing is handed out."""


@dataclass
class ExportBundle:
    """A built export: the ZIP (a temporary file, read from the start) and what its audit entry records."""

    file: IO[bytes]
    filename: str
    data_name: str
    format: str
    rows: int
    truncated: bool
    sha256: str
    encrypted: bool
    fingerprint: str

    def close(self) -> None:
        self.file.close()


def _ordered_unique(values: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value not in (None, ""):
            seen.setdefault(str(value), None)
    return list(seen)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def export_object(entry: AuditEntry, *, with_leaf: bool) -> dict[str, Any]:
    """One entry as exported: the columns, what its decisions name, and (JSON) the exact leaf that was hashed."""
    decisions = [d for d in entry.decisions if isinstance(d, dict)] if isinstance(entry.decisions, list) else []
    reasons = [reason for d in decisions for reason in _list(d.get("reasons"))]
    row: dict[str, Any] = {
        "index": entry.index,
        "at": format_time(entry.at),
        "kind": entry.kind,
        "organisation": entry.organisation,
        "client_id": entry.client_id,
        "acting_user": entry.acting_user,
        "user": entry.user,
        "subject": entry.subject,
        "purpose": entry.purpose,
        "case_reference": entry.case_reference,
        "emergency": entry.emergency,
        "outcome": entry.outcome,
        "policy_version": entry.policy_version,
        "categories": _ordered_unique(d.get("category") for d in decisions),
        "holders": _ordered_unique(d.get("provider") for d in decisions),
        "legal_bases": _ordered_unique(d.get("legal_basis") for d in decisions),
        "reason_codes": _ordered_unique(reasons),
        "leaf_hash": entry.leaf_hash,
    }
    if with_leaf:
        row["leaf"] = entry.leaf
    return row


def csv_cell(value: Any) -> str:
    """A CSV cell: lists joined with ``;``, booleans as true/false, nothing as empty; text that a spreadsheet
    would run as a formula gets a leading apostrophe (partners choose some of these values)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = ";".join(value)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_START) else text


class _HashingWriter:
    """Writes text as UTF-8 to a binary file and hashes exactly the bytes written."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.digest = hashlib.sha256()

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.out.write(data)
        self.digest.update(data)
        return len(text)


def _selection(entries: QuerySet[AuditEntry], fmt: str) -> Iterable[AuditEntry]:
    deferred = ("detail",) if fmt == "json" else ("detail", "leaf")
    return entries.defer(*deferred)[: EXPORT_ROW_CAP + 1].iterator(chunk_size=CHUNK_SIZE)


def write_data(entries: QuerySet[AuditEntry], fmt: str, path: Path) -> tuple[int, bool, str]:
    """Write the selection as ``fmt`` to ``path``; the rows written, whether the cap cut it, the file's SHA-256."""
    rows = 0
    truncated = False
    with path.open("wb") as out:
        writer = _HashingWriter(out)
        table = csv.writer(writer) if fmt == "csv" else None
        if table is not None:
            table.writerow(COLUMNS)
        else:
            writer.write("[")
        for entry in _selection(entries, fmt):
            if rows == EXPORT_ROW_CAP:
                truncated = True
                break
            row = export_object(entry, with_leaf=table is None)
            if table is not None:
                table.writerow([csv_cell(row[column]) for column in COLUMNS])
            else:
                writer.write(("\n" if rows == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
            rows += 1
        if table is None:
            writer.write("\n]\n" if rows else "]\n")
    return rows, truncated, writer.digest.hexdigest()


def sign_file(path: Path, key: SigningKey) -> Path:
    """A detached, ASCII-armoured signature of ``path`` by the gateway's key, next to it as ``<name>.asc``."""
    try:
        return sign_file_detached(path, key)
    except SigningError as exc:
        raise ExportError(str(exc)) from exc


def encrypt_files(paths: list[Path], public_key: str) -> list[Path]:
    """Encrypt each file to the officer's key (``<name>.gpg``), with a keyring that holds only that key."""
    try:
        return encrypt_files_to(paths, public_key)
    except RecipientKeyUnreadable as exc:
        raise ExportError("the public key on file could not be read; not exporting unencrypted") from exc
    except SigningError as exc:
        raise ExportError(f"the export could not be encrypted to the key on file: {exc}") from exc


README = """\
Veilig Delen: export of the audit trail
=======================================

Made {made} by {user} ({scope}).
Selection: {filters}
Entries: {rows}, newest first{truncated}.

Files
-----
{data_file}
    {data_what}
{signature_file}
    {signature_what}
{public_key}
    The gateway's public signing key, fingerprint {fingerprint}. It also signs the audit trail's
    checkpoints and is published at /api/v1/audit/public-key. Compare the fingerprint with one you
    obtained from the operator out of band: this file cannot vouch for itself.
README.txt
    This file.

SHA-256 of {data_name} (before any encryption): {sha256}
The export itself is recorded in the audit trail as a console_view entry with outcome "export" and
this SHA-256.

Columns
-------
{columns}
"at" is UTC (RFC 3339). "subject" is the keyed pseudonym of the person, never a BSN. "categories",
"holders", "legal_bases" and "reason_codes" list what the entry's decisions name ("{separator}"-separated
in CSV). In CSV, a value that a spreadsheet would run as a formula starts with an extra apostrophe.
In JSON, "leaf" is the exact canonical text that was hashed into the Merkle tree:
SHA-256(0x00 || UTF-8 of leaf) is "leaf_hash", and an inclusion proof from the gateway ties it to a
signed checkpoint.

How to check
------------
{steps}"""

STEPS_PLAIN = """\
1. gpg --import {public_key}
2. gpg --verify {data_name}.asc {data_name}
   "Good signature" from the key with the fingerprint above means the file is as the gateway made it.
"""

STEPS_ENCRYPTED = """\
1. gpg --output {data_name} --decrypt {data_name}.gpg
   gpg --output {data_name}.asc --decrypt {data_name}.asc.gpg
   (with the private key that belongs to the public key on file for {user})
2. gpg --import {public_key}
3. gpg --verify {data_name}.asc {data_name}
   "Good signature" from the key with the fingerprint above means the file is as the gateway made it.
"""


def readme_text(
    *,
    made: dt.datetime,
    user: str,
    officer: OfficerProfile,
    filters: dict[str, Any],
    fmt: str,
    data_name: str,
    rows: int,
    truncated: bool,
    sha256: str,
    encrypted: bool,
    fingerprint: str,
) -> str:
    scope = f"officer of {officer.organisation.slug}" if officer.organisation else "officer of the whole network"
    steps = (STEPS_ENCRYPTED if encrypted else STEPS_PLAIN).format(
        data_name=data_name, public_key=PUBLIC_KEY_NAME, user=user
    )
    what = "CSV (RFC 4180, UTF-8), one entry per row" if fmt == "csv" else "JSON (UTF-8): a list of objects"
    return README.format(
        made=format_time(made),
        user=user,
        scope=scope + (", only entries where that organisation asked or held data" if officer.organisation else ""),
        filters=json.dumps(filters, ensure_ascii=False, sort_keys=True) if filters else "the whole trail in scope",
        rows=rows,
        truncated=f" (cut at {EXPORT_ROW_CAP}: narrow the selection for the rest)" if truncated else "",
        data_file=data_name + (".gpg" if encrypted else ""),
        data_what=what + (", encrypted to the officer's public key" if encrypted else ""),
        signature_file=data_name + ".asc" + (".gpg" if encrypted else ""),
        signature_what="Detached OpenPGP signature of "
        + data_name
        + " by the gateway's key"
        + (", encrypted to the officer's public key" if encrypted else ""),
        public_key=PUBLIC_KEY_NAME,
        fingerprint=fingerprint,
        data_name=data_name,
        sha256=sha256,
        columns=", ".join(COLUMNS) + (", leaf" if fmt == "json" else ""),
        separator=";",
        steps=steps,
    )


def export_build(
    *, officer: OfficerProfile, form: EntryFilterForm, fmt: str, username: str, now: dt.datetime | None = None
) -> ExportBundle:
    """Build the ZIP of the officer's filtered selection (the form must be valid); nothing is recorded yet."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}")
    made = now or timezone.now()
    stamp = made.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    data_name = f"veilig-delen-export-{stamp}.{fmt}"
    public_key = officer.public_key.strip()
    archive = tempfile.TemporaryFile(prefix="vd-export-", suffix=".zip")  # noqa: SIM115  # handed to the response
    try:
        with tempfile.TemporaryDirectory(prefix="vd-export-") as work:
            data = Path(work) / data_name
            rows, truncated, sha256 = write_data(filtered_entries(officer, form), fmt, data)
            key = signing_key_current()
            files = [data, sign_file(data, key)]
            if public_key:
                files = encrypt_files(files, public_key)
            readme = readme_text(
                made=made,
                user=username,
                officer=officer,
                filters=form.active_filters(),
                fmt=fmt,
                data_name=data_name,
                rows=rows,
                truncated=truncated,
                sha256=sha256,
                encrypted=bool(public_key),
                fingerprint=key.fingerprint,
            )
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
                for path in files:
                    bundle.write(path, arcname=path.name)
                bundle.writestr(PUBLIC_KEY_NAME, key.public_armored)
                bundle.writestr("README.txt", readme)
    except BaseException:
        archive.close()
        raise
    archive.seek(0)
    return ExportBundle(
        file=archive,
        filename=f"veilig-delen-export-{stamp}.zip",
        data_name=data_name,
        format=fmt,
        rows=rows,
        truncated=truncated,
        sha256=sha256,
        encrypted=bool(public_key),
        fingerprint=key.fingerprint,
    )


def export_record(
    *, officer: OfficerProfile, username: str, filters: dict[str, Any], bundle: ExportBundle
) -> AuditEntry:
    """The export's ``console_view`` entry (audit.md: reads of the audit log are audited), committed on return."""
    with transaction.atomic(durable=True):
        return audit_append(
            EntryDraft(
                kind=AuditKind.CONSOLE_VIEW,
                actor=Actor(user=username, organisation=officer.organisation.slug if officer.organisation else None),
                subject=filters.get("subject"),
                outcome="export",
                detail={
                    "filters": filters,
                    "rows": bundle.rows,
                    "truncated": bundle.truncated,
                    "format": bundle.format,
                    "sha256": bundle.sha256,
                    "encrypted": bundle.encrypted,
                    "signing_key": bundle.fingerprint,
                },
            )
        )


def console_export(*, officer: OfficerProfile, form: EntryFilterForm, fmt: str, username: str) -> ExportBundle:
    """Build the export, then record it; hand it out only once the record has committed.

    Raises :class:`ExportError` when it cannot be signed or encrypted and :class:`audit.ledger.AuditWriteError`
    when it cannot be recorded; in both cases the built file is discarded.
    """
    bundle = export_build(officer=officer, form=form, fmt=fmt, username=username)
    try:
        export_record(officer=officer, username=username, filters=form.active_filters(), bundle=bundle)
    except (AuditWriteError, DatabaseError) as exc:
        bundle.close()
        raise AuditWriteError(f"the export could not be recorded, so it is not handed out: {exc}") from exc
    except BaseException:
        bundle.close()
        raise
    return bundle
