"""Signed exports of a filtered selection (issue #6, item 6): CSV and JSON hold exactly the selection, the
detached signature verifies with the gpg binary, a key on file encrypts the export, a scoped officer exports only
their part, and every export is recorded as one ``console_view`` entry before it is handed out."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.ledger import AuditWriteError
from audit.models import AuditEntry, AuditKind, OfficerProfile
from console import exports
from console.access import scoped_entries
from console.filters import EntryFilterForm, filtered_entries

VT = "veilig-thuis-rr"
MARK, SANNE, FATIMA = "999990019", "999990007", "999990044"
CASE_1, CASE_2 = "CHGK-RR-2026-0001", "CHGK-RR-2026-0002"

pytestmark = pytest.mark.django_db


def gpg_kill(home: Path) -> None:
    gpgconf = shutil.which("gpgconf")
    if gpgconf is not None:
        subprocess.run([gpgconf, "--homedir", str(home), "--kill", "all"], check=False, capture_output=True)


@pytest.fixture(scope="module")
def gateway_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One gateway signing key for the module (key generation is the slow part of gpg)."""
    home = tmp_path_factory.mktemp("gateway-gnupg")
    yield home
    gpg_kill(home)


@pytest.fixture(autouse=True)
def console(settings: Any, gateway_home: Path) -> None:
    settings.GATEWAY_GNUPGHOME = gateway_home
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = False


OFFICER_KEY_PARAMETERS = """\
%no-protection
Key-Type: EDDSA
Key-Curve: ed25519
Subkey-Type: ECDH
Subkey-Curve: cv25519
Name-Real: Privacy Officer
Name-Email: privacy@example.invalid
Expire-Date: 0
%commit
"""


@pytest.fixture(scope="module")
def officer_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A throwaway key pair of the officer's own (Ed25519 with a Curve25519 encryption subkey), in its own home,
    made with the stock gpg binary as an officer would (not with the gateway's wrapper under test)."""
    home = tmp_path_factory.mktemp("officer-gnupg")
    env = {**os.environ, "GNUPGHOME": str(home)}
    (home / "parameters").write_text(OFFICER_KEY_PARAMETERS)
    created = subprocess.run(
        ["gpg", "--batch", "--gen-key", str(home / "parameters")], env=env, capture_output=True, text=True
    )
    assert created.returncode == 0, created.stderr
    exported = subprocess.run(
        ["gpg", "--batch", "--armor", "--export", "privacy@example.invalid"], env=env, capture_output=True, text=True
    )
    assert exported.stdout.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----"), exported.stderr
    yield home, exported.stdout
    gpg_kill(home)


@pytest.fixture
def trail(partner: Any) -> dict[str, int]:
    """Requests by VT, the police and the municipality (the last one neither asked nor held by VT)."""
    vt, police, municipality = partner(VT), partner("politie-rotterdam"), partner("gemeente-rotterdam")
    responses = {
        "vt_police": vt.ask(
            subject={"bsn": MARK},
            categories=["police_incidents", "house_ban"],
            purpose="vt_safety_assessment",
            case_reference=CASE_1,
        ),
        "police_address": police.ask(
            subject={"bsn": SANNE}, categories=["address"], purpose="zvh_case_meeting", case_reference=CASE_1
        ),
        "police_vt_denied": police.ask(
            subject={"bsn": MARK}, categories=["risk_assessment"], purpose="zvh_case_meeting", case_reference=CASE_1
        ),
        "municipality": municipality.ask(
            subject={"bsn": FATIMA},
            categories=["health_summary"],
            purpose="care_coordination",
            case_reference=CASE_2,
            providers={"health_summary": "ggz-rijnmond"},
        ),
    }
    for name, response in responses.items():
        assert response.status_code in (200, 202), (name, response.content)
    return {name: response.json()["audit"]["index"] for name, response in responses.items()}


def login(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def profile(username: str) -> OfficerProfile:
    return OfficerProfile.objects.select_related("organisation").get(user__username=username)


def selection(username: str, **filters: str) -> list[int]:
    form = EntryFilterForm(filters)
    assert form.is_valid(), form.errors
    return list(filtered_entries(profile(username), form).values_list("index", flat=True))


def download(client: Client, **params: str) -> zipfile.ZipFile:
    response = client.post("/privacy/export/", params)
    assert response.status_code == 200, response.content[:3000] if not response.streaming else response
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="veilig-delen-export-')
    return zipfile.ZipFile(io.BytesIO(response.getvalue()))


def member(bundle: zipfile.ZipFile, suffix: str) -> tuple[str, bytes]:
    (name,) = [n for n in bundle.namelist() if n.endswith(suffix)]
    return name, bundle.read(name)


def gpg_verify(signature: bytes, data: bytes, public_key: bytes, tmp_path: Path) -> str:
    """``gpg --verify`` in a keyring of its own that holds only the given public key; gpg's status lines."""
    home = tmp_path / "verify-gnupg"
    home.mkdir(mode=0o700, parents=True)
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "data.asc").write_bytes(signature)
    (tmp_path / "key.asc").write_bytes(public_key)
    env = {**os.environ, "GNUPGHOME": str(home)}
    try:
        subprocess.run(
            ["gpg", "--batch", "--import", str(tmp_path / "key.asc")], env=env, check=True, capture_output=True
        )
        verified = subprocess.run(
            ["gpg", "--batch", "--status-fd", "1", "--verify", str(tmp_path / "data.asc"), str(tmp_path / "data")],
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        gpg_kill(home)
    assert verified.returncode == 0, verified.stderr
    return verified.stdout


def latest_console_view() -> AuditEntry:
    return AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW).latest("index")


def test_csv_holds_the_filtered_selection_and_its_signature_verifies(trail: dict[str, int], tmp_path: Path) -> None:
    expected = selection("privacy", requester="politie-rotterdam", kind="request")
    assert set(expected) >= {trail["police_address"], trail["police_vt_denied"]}
    views_before = AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW).count()

    bundle = download(login("privacy"), requester="politie-rotterdam", kind="request", format="csv")

    name, data = member(bundle, ".csv")
    assert sorted(bundle.namelist()) == sorted([name, name + ".asc", "gateway-public-key.asc", "README.txt"])
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [int(row["index"]) for row in rows] == expected  # the selection, newest first
    assert list(rows[0]) == list(exports.COLUMNS)
    entry = AuditEntry.objects.get(index=trail["police_vt_denied"])
    row = next(r for r in rows if int(r["index"]) == entry.index)
    assert (row["organisation"], row["kind"], row["outcome"], row["subject"]) == (
        "politie-rotterdam",
        "request",
        entry.outcome,
        entry.subject,
    )
    assert (row["case_reference"], row["purpose"], row["emergency"]) == (CASE_1, "zvh_case_meeting", "false")
    assert row["categories"] == "risk_assessment" and row["holders"] == VT
    assert row["reason_codes"] == ";".join(dict.fromkeys(c for d in entry.decisions for c in d["reasons"]))
    assert row["leaf_hash"] == entry.leaf_hash and row["policy_version"] == str(entry.policy_version)
    assert row["at"] == json.loads(entry.leaf)["at"]

    status = gpg_verify(bundle.read(name + ".asc"), data, bundle.read("gateway-public-key.asc"), tmp_path)
    view = latest_console_view()
    assert "[GNUPG:] GOODSIG" in status and f"VALIDSIG {view.detail['signing_key']}" in status

    # the export is recorded once, with what it holds
    assert AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW).count() == views_before + 1
    assert (view.user, view.outcome, view.organisation) == ("privacy", "export", None)
    assert view.detail == {
        "filters": {"requester": "politie-rotterdam", "kind": "request"},
        "rows": len(expected),
        "truncated": False,
        "format": "csv",
        "sha256": hashlib.sha256(data).hexdigest(),
        "encrypted": False,
        "signing_key": view.detail["signing_key"],
    }
    readme = bundle.read("README.txt").decode()
    assert hashlib.sha256(data).hexdigest() in readme and "gpg --verify" in readme
    assert f"Entries: {len(expected)}" in readme


def test_json_holds_the_leaves_of_the_selection(trail: dict[str, int], tmp_path: Path) -> None:
    expected = selection("privacy", bsn=MARK)
    bundle = download(login("privacy"), bsn=MARK, format="json")
    name, data = member(bundle, ".json")
    objects = json.loads(data)
    assert [o["index"] for o in objects] == expected
    for item in objects:
        entry = AuditEntry.objects.get(index=item["index"])
        assert item["leaf"] == entry.leaf
        assert hashlib.sha256(b"\x00" + item["leaf"].encode("utf-8")).hexdigest() == item["leaf_hash"]
        assert item["subject"] == entry.subject and item["emergency"] is entry.emergency
        assert set(item) == {*exports.COLUMNS, "leaf"}
    assert "GOODSIG" in gpg_verify(bundle.read(name + ".asc"), data, bundle.read("gateway-public-key.asc"), tmp_path)
    view = latest_console_view()
    assert view.detail["format"] == "json" and view.detail["rows"] == len(expected)
    assert view.subject == json.loads(AuditEntry.objects.get(index=trail["vt_police"]).leaf)["subject"]
    assert "999990019" not in json.dumps(view.detail)  # the BSN became its pseudonym


def test_with_a_key_on_file_the_export_is_encrypted_to_it(
    trail: dict[str, int], officer_key: tuple[Path, str], tmp_path: Path
) -> None:
    home, public = officer_key
    client = login("privacy")
    plain = download(client, kind="request", requester="politie-rotterdam", format="csv")
    plain_name, plain_data = member(plain, ".csv")

    OfficerProfile.objects.filter(user__username="privacy").update(public_key=public)
    bundle = download(client, kind="request", requester="politie-rotterdam", format="csv")
    name, sealed = member(bundle, ".csv.gpg")
    data_name = name.removesuffix(".gpg")
    assert sorted(bundle.namelist()) == sorted([name, data_name + ".asc.gpg", "gateway-public-key.asc", "README.txt"])
    assert b"politie-rotterdam" not in sealed

    def decrypt(blob: bytes, target: str) -> bytes:
        (tmp_path / (target + ".gpg")).write_bytes(blob)
        result = subprocess.run(
            [
                "gpg",
                "--batch",
                "--yes",
                "--output",
                str(tmp_path / target),
                "--decrypt",
                str(tmp_path / (target + ".gpg")),
            ],
            env={**os.environ, "GNUPGHOME": str(home)},
            capture_output=True,
        )
        assert result.returncode == 0, result.stderr
        return (tmp_path / target).read_bytes()

    data = decrypt(sealed, "data.csv")
    signature = decrypt(bundle.read(data_name + ".asc.gpg"), "data.csv.asc")
    assert data == plain_data  # the same selection, byte for byte
    view = latest_console_view()
    assert view.detail["encrypted"] is True and view.detail["sha256"] == hashlib.sha256(data).hexdigest()
    assert "GOODSIG" in gpg_verify(signature, data, bundle.read("gateway-public-key.asc"), tmp_path / "v")
    assert "gpg --output" in bundle.read("README.txt").decode()
    assert plain_name != name


def test_a_key_on_file_that_cannot_be_used_means_no_export(trail: dict[str, int]) -> None:
    OfficerProfile.objects.filter(user__username="privacy").update(public_key="not a key")
    views_before = AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW, outcome="export").count()
    response = login("privacy").post("/privacy/export/", {"format": "csv"})
    assert response.status_code == 500
    assert "No export: the public key on file could not be read" in response.content.decode()
    assert AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW, outcome="export").count() == views_before


def test_a_scoped_officer_exports_only_their_part(trail: dict[str, int]) -> None:
    vt = profile("privacy-vt")
    expected = sorted(scoped_entries(vt).values_list("index", flat=True), reverse=True)
    assert trail["vt_police"] in expected and trail["police_vt_denied"] in expected
    assert trail["municipality"] not in expected and trail["police_address"] not in expected

    bundle = download(login("privacy-vt"), format="json")
    _, data = member(bundle, ".json")
    assert [o["index"] for o in json.loads(data)] == expected
    # a filter cannot widen the scope
    bundle = download(login("privacy-vt"), requester="gemeente-rotterdam", format="csv")
    _, data = member(bundle, ".csv")
    indices = {int(r["index"]) for r in csv.DictReader(io.StringIO(data.decode()))}
    assert trail["municipality"] not in indices and indices <= set(expected)
    view = latest_console_view()
    assert (view.user, view.organisation, view.outcome) == ("privacy-vt", VT, "export")


def test_no_export_when_it_cannot_be_recorded(trail: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(draft: Any) -> AuditEntry:
        raise AuditWriteError("the trail is down")

    monkeypatch.setattr(exports, "audit_append", refuse)
    response = login("privacy").post("/privacy/export/", {"format": "csv"})
    assert response.status_code == 503 and not response.streaming
    assert "could not be recorded in the audit trail, so it is not handed out" in response.content.decode()
    assert not AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW, outcome="export").exists()


def test_the_export_is_capped(trail: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "EXPORT_ROW_CAP", 2)
    newest = selection("privacy")[:2]
    bundle = download(login("privacy"), format="csv")
    _, data = member(bundle, ".csv")
    assert [int(r["index"]) for r in csv.DictReader(io.StringIO(data.decode()))] == newest
    assert latest_console_view().detail["truncated"] is True
    assert "cut at 2" in bundle.read("README.txt").decode()


def test_an_invalid_request_is_refused(trail: dict[str, int]) -> None:
    client = login("privacy")
    assert client.post("/privacy/export/", {"format": "xml"}).status_code == 400
    response = client.post("/privacy/export/", {"format": "csv", "bsn": "123"})
    assert response.status_code == 400 and "Not a valid BSN" in response.content.decode()
    assert not AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW, outcome="export").exists()


def test_an_export_is_posted_so_a_bsn_never_travels_in_its_address(trail: dict[str, int]) -> None:
    """Issue #9 item 8: the export form is posted; asking for an export in the address is refused."""
    client = login("privacy")
    assert client.get("/privacy/export/", {"format": "csv", "bsn": MARK}).status_code == 405
    assert not AuditEntry.objects.filter(kind=AuditKind.CONSOLE_VIEW, outcome="export").exists()
    page = client.get("/privacy/oversight/").content.decode()
    assert '<form method="post" action="/privacy/export/">' in page


def test_csv_cells_are_not_run_as_formulas() -> None:
    assert exports.csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert exports.csv_cell("@SUM") == "'@SUM"
    assert exports.csv_cell(["a", "b"]) == "a;b"
    assert exports.csv_cell(None) == "" and exports.csv_cell(True) == "true" and exports.csv_cell(7) == "7"
