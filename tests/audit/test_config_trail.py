"""Configuration changes (issue item 6; audit.md, "What is recorded": ``config``): every django-auditlog entry is
anchored in the trail by one ``config`` entry that references and hashes it, in the same transaction, with the
actor also outside requests; the OAuth client secret is never logged; no change survives a failed audit write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.db import transaction
from django.forms.models import model_to_dict
from django.test import Client

from audit.config_trail import (
    HASHED_FIELDS,
    ConfigurationAuditError,
    config_actor,
    logentry_digest,
    process_actor,
)
from audit.ledger import AuditWriteError
from audit.models import AuditEntry, AuditHead
from consent.models import DataCategory, Organisation, Sector, SharingRule
from gateway.models import Application
from tests.admin.clients import verified_admin_client

MARKER = "herzien-door-de-configuratietest-7f3a"


def config_entries_since(size: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(kind="config", index__gte=size).order_by("index"))


def latest_log() -> Any:
    return LogEntry.objects.order_by("-id").first()


def rule_form(rule: SharingRule, **changes: Any) -> dict[str, Any]:
    """The admin change form of ``rule`` as a browser posts it, with ``changes`` applied."""
    data: dict[str, Any] = {}
    for name, value in {**model_to_dict(rule), **changes}.items():
        if name == "id":
            continue
        if isinstance(value, list):
            data[name] = [getattr(item, "pk", item) for item in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is None:
            data[name] = ""
        else:
            data[name] = str(value)
    data["_save"] = "Save"
    return data


@pytest.fixture
def admin_client(db: Any) -> tuple[Client, Any]:
    user = get_user_model().objects.create_superuser(
        username="config-test-admin", email="config-test-admin@example.invalid", password="not-used-here-0123"
    )
    return verified_admin_client(user), user  # the admin asks for a second factor outside demo mode


def test_an_admin_edit_of_a_rule_is_logged_and_anchored_once(admin_client: tuple[Client, Any]) -> None:
    client, user = admin_client
    rule = SharingRule.objects.order_by("code").first()
    assert rule is not None
    size = AuditHead.objects.get().size
    last_log = latest_log().id

    response = client.post(
        f"/admin/consent/sharingrule/{rule.pk}/change/", rule_form(rule, description=f"{rule.description} {MARKER}")
    )

    assert response.status_code == 302, response.content[:2000]
    (log,) = LogEntry.objects.filter(id__gt=last_log)
    assert log.content_type.model_class() is SharingRule and log.object_pk == str(rule.pk)
    assert log.action == LogEntry.Action.UPDATE
    assert log.actor == user
    assert set(log.changes) == {"description", "version"}  # the version goes up with every change
    assert log.changes["version"] == [str(rule.version), str(rule.version + 1)]
    (entry,) = config_entries_since(size)
    assert entry.user == "config-test-admin"
    assert entry.reference == f"auditlog:{log.id}" and entry.outcome == "update"
    assert entry.detail == {
        "auditlog_entry": log.id,
        "model": "consent.sharingrule",
        "object_pk": str(rule.pk),
        "action": "update",
        "changed_fields": ["description", "version"],
        "auditlog_sha256": logentry_digest(LogEntry.objects.get(pk=log.pk)),
        "auditlog_hashed": list(HASHED_FIELDS),
    }
    assert MARKER not in entry.leaf  # the new value is in django-auditlog, never in the trail


def test_many_to_many_changes_of_a_rule_are_anchored_too(db: Any) -> None:
    rule = SharingRule.objects.order_by("code").first()
    assert rule is not None
    extra = DataCategory.objects.exclude(pk__in=rule.categories.all()).order_by("code").first()
    assert extra is not None
    size = AuditHead.objects.get().size

    with config_actor("system:test"), transaction.atomic():
        rule.categories.add(extra)

    log = latest_log()
    assert log.changes == {"categories": {"type": "m2m", "operation": "add", "objects": [extra.code]}}
    (entry,) = config_entries_since(size)
    assert entry.user == "system:test"
    assert entry.detail["auditlog_entry"] == log.id and entry.detail["changed_fields"] == ["categories"]


def test_a_change_outside_requests_records_the_system_actor(db: Any) -> None:
    organisation = Organisation.objects.get(slug="veilig-thuis-rr")
    size = AuditHead.objects.get().size

    with config_actor("test") as actor, transaction.atomic():
        organisation.name = f"{organisation.name} {MARKER}"
        organisation.save()

    assert actor == "system:test"
    log = latest_log()
    assert log.actor is None and log.additional_data == {"system_actor": "system:test"}
    (entry,) = config_entries_since(size)
    assert entry.user == "system:test" and entry.detail["changed_fields"] == ["name"]
    assert entry.detail["auditlog_sha256"] == logentry_digest(LogEntry.objects.get(pk=log.pk))


def test_without_a_named_actor_the_process_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for argv, expected in [
        (["manage.py", "seed_demo"], "system:seed_demo"),
        (["/srv/venv/bin/celery", "-A", "config", "worker"], "system:celery"),
        (["/srv/venv/lib/python3.11/site-packages/pytest/__main__.py", "-q"], "system:pytest"),
        (["-c"], "system:unattributed"),
    ]:
        monkeypatch.setattr("sys.argv", argv)
        assert process_actor() == expected


def test_the_oauth_client_secret_is_never_logged(db: Any) -> None:
    first, second = "first-client-secret-6d1f0c", "second-client-secret-93ab2e"
    size = AuditHead.objects.get().size

    with config_actor("system:test"), transaction.atomic():
        client = Application.objects.create(
            client_id="config-trail-test-client",
            client_secret=first,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            name="Config trail test client",
            hash_client_secret=True,
            organisation=Organisation.objects.get(slug="veilig-thuis-rr"),
        )
        client.client_secret = second
        client.name = "Config trail test client, renamed"
        client.save()

    hashed = Application.objects.get(pk=client.pk).client_secret
    logs = list(LogEntry.objects.get_for_object(client).order_by("id"))
    assert [log.action for log in logs] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert "name" in logs[1].changes
    for log in logs:
        assert "client_secret" not in log.changes
        stored = json.dumps([log.changes, log.changes_text, log.serialized_data, log.additional_data])
        for secret in (first, second, hashed):
            assert secret not in stored
    entries = config_entries_since(size)
    assert [e.detail["auditlog_entry"] for e in entries] == [log.id for log in logs]
    for entry in entries:
        assert "client_secret" not in entry.detail["changed_fields"]
        assert '"client_secret"' not in entry.leaf and second not in entry.leaf and hashed not in entry.leaf


def test_a_failed_audit_write_rolls_the_admin_change_back(admin_client: tuple[Client, Any]) -> None:
    client, _ = admin_client
    rule = SharingRule.objects.order_by("code").first()
    assert rule is not None
    before = (rule.description, rule.version, LogEntry.objects.count(), AuditEntry.objects.count())
    AuditHead.objects.update(size=0)  # the next index collides with an existing entry: the insert fails

    with pytest.raises(AuditWriteError):
        client.post(
            f"/admin/consent/sharingrule/{rule.pk}/change/",
            rule_form(rule, description=f"{rule.description} {MARKER}"),
        )

    rule.refresh_from_db()
    assert (rule.description, rule.version, LogEntry.objects.count(), AuditEntry.objects.count()) == before


def test_a_failed_audit_write_rolls_a_command_change_back(db: Any) -> None:
    organisation = Organisation.objects.get(slug="politie-rotterdam")
    name, logs = organisation.name, LogEntry.objects.count()
    AuditHead.objects.update(size=0)

    with pytest.raises(AuditWriteError), config_actor("system:test"), transaction.atomic():
        organisation.name = f"{name} {MARKER}"
        organisation.save()

    assert Organisation.objects.get(pk=organisation.pk).name == name
    assert LogEntry.objects.count() == logs


def test_every_auditlog_entry_is_anchored_once_with_its_hash(db: Any) -> None:
    """The seeded world's configuration: one ``config`` entry per LogEntry, whose hash matches the stored row."""
    logs = {log.id: log for log in LogEntry.objects.select_related("content_type")}
    anchors = [
        (e.detail["auditlog_entry"], e.detail["auditlog_sha256"]) for e in AuditEntry.objects.filter(kind="config")
    ]
    assert logs
    assert sorted(log_id for log_id, _ in anchors) == sorted(logs)
    for log_id, digest in anchors:
        assert digest == logentry_digest(logs[log_id])


def test_a_configuration_change_outside_a_transaction_is_refused(committed_world: Any) -> None:
    """In autocommit mode nothing is written: not the change, not its LogEntry, not a trail entry."""
    organisation = Organisation.objects.get(slug="veilig-thuis-rr")
    name = organisation.name
    counts = (LogEntry.objects.count(), AuditHead.objects.get().size)

    organisation.name = f"{name} {MARKER}"
    with pytest.raises(ConfigurationAuditError, match=r"transaction\.atomic"):
        organisation.save()
    with pytest.raises(ConfigurationAuditError):
        Sector.objects.create(code="config-trail-test", name_nl="Test", name_en="Test")

    assert Organisation.objects.get(pk=organisation.pk).name == name
    assert not Sector.objects.filter(code="config-trail-test").exists()
    assert (LogEntry.objects.count(), AuditHead.objects.get().size) == counts
