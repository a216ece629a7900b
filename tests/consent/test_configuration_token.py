"""The policy in force is kept per process under the configuration token, and no decision sees a stale one.

Every change to the tables the policy snapshot and the holder directory are read from sets a fresh token (database
triggers, consent 0008 and gateway 0008), whichever way it is made: the ORM, a many-to-many add, plain SQL. The
kept policy is used only while the token is the one it was built at, and only once the transaction that built it
has committed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from consent import configuration
from consent.models import (
    CategoryField,
    DataCategory,
    LegalBasis,
    Organisation,
    Person,
    PolicyVersion,
    Purpose,
    Sector,
    SharingRule,
)
from consent.selectors import configuration_token, policy_current
from gateway.holders.directory import holder_directory
from gateway.models import HolderEndpoint

pytestmark = pytest.mark.django_db


def _rule() -> SharingRule:
    return SharingRule.objects.filter(active=True).order_by("code").first()  # type: ignore[return-value]


CHANGES: dict[str, Callable[[], Any]] = {
    "a rule's field": lambda: SharingRule.objects.filter(pk=_rule().pk).update(description="changed"),
    "a rule's categories (many-to-many)": lambda: _rule().categories.add(
        DataCategory.objects.exclude(rules=_rule()).first()
    ),
    "a rule's purposes (many-to-many)": lambda: _rule().purposes.clear(),
    "a category field": lambda: CategoryField.objects.create(
        category=DataCategory.objects.first(), name="extra_field", position=99
    ),
    "a purpose": lambda: Purpose.objects.create(code="new_purpose", name_nl="nieuw", name_en="new"),
    "a legal basis": lambda: LegalBasis.objects.filter(pk=LegalBasis.objects.first().pk).update(reference="changed"),
    "a sector": lambda: Sector.objects.filter(pk=Sector.objects.first().pk).update(consent_possible=False),
    "an organisation deactivated": lambda: Organisation.objects.filter(slug="school-regenboog").update(active=False),
    "a holder endpoint": lambda: HolderEndpoint.objects.filter(pk=HolderEndpoint.objects.first().pk).update(
        active=False
    ),
    "a holder endpoint's categories": lambda: HolderEndpoint.objects.first().categories.clear(),
    "plain SQL": lambda: connection.cursor().execute(
        "UPDATE consent_sharingrule SET description = 'by hand' WHERE id = %s", [_rule().pk]
    ),
    "a row deleted": lambda: CategoryField.objects.filter(pk=CategoryField.objects.order_by("-pk").first().pk).delete(),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_to_policy_data_or_the_holder_directory_sets_a_new_token(change: str) -> None:
    before = configuration_token()
    assert before
    CHANGES[change]()
    after = configuration_token()
    assert after and after != before


def test_data_about_people_leaves_the_token_alone() -> None:
    before = configuration_token()
    Person.objects.create(bsn="999999990", given_name="A", family_name="B", date_of_birth="2000-01-01")
    assert configuration_token() == before


def test_the_triggers_cover_every_table_the_snapshot_reads() -> None:
    """A table read by the snapshot but not watched would let a process decide on a stale policy."""
    with CaptureQueriesContext(connection) as queries:
        from consent.selectors import policy_snapshot_build

        policy_snapshot_build()
    read = " ".join(q["sql"] for q in queries.captured_queries)
    tables = set(re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?', read))
    assert "consent_sharingrule_categories" in tables  # the parse sees the join tables too
    assert tables <= set(configuration.POLICY_TABLES), tables - set(configuration.POLICY_TABLES)


@pytest.mark.usefixtures("committed_world")
class TestKeptPerProcess:
    """These need real commits: a policy is kept only once the transaction that read it commits."""

    def test_one_query_while_the_token_holds_then_a_rebuild_after_a_change(self) -> None:
        first = policy_current()
        with CaptureQueriesContext(connection) as queries:
            again = policy_current()
        assert again is first
        assert len(queries.captured_queries) == 1  # the token, nothing else
        rule = _rule()
        SharingRule.objects.filter(pk=rule.pk).update(active=False)
        changed = policy_current()
        assert changed.version != first.version
        assert rule.code not in {r.code for r in changed.rules if r.active}
        assert changed.token == configuration_token()

    def test_a_change_rolled_back_never_leaves_its_policy_behind(self) -> None:
        kept = policy_current()
        rule = _rule()
        with transaction.atomic():
            SharingRule.objects.filter(pk=rule.pk).update(active=False)
            inside = policy_current()
            assert inside.version != kept.version
            transaction.set_rollback(True)
        assert not PolicyVersion.objects.filter(number=inside.version).exists()
        after = policy_current()
        assert after.version == kept.version
        # A different change afterwards is built anew and registered for real.
        SharingRule.objects.filter(pk=rule.pk).update(holder_decides=not rule.holder_decides)
        other = policy_current()
        assert other.version != kept.version
        stored = PolicyVersion.objects.get(number=other.version).snapshot
        (row,) = [r for r in stored["rules"] if r["code"] == rule.code]
        assert row["holder_decides"] is (not rule.holder_decides) and row["active"] is True

    def test_the_holder_directory_follows_the_token(self) -> None:
        token = policy_current().token
        directory = holder_directory(token)
        assert token is not None and holder_directory(token) is directory
        endpoint = HolderEndpoint.objects.filter(active=True).first()
        assert endpoint is not None
        slug = endpoint.organisation.slug
        code = endpoint.categories.first().code  # type: ignore[union-attr]
        assert directory.endpoint(slug, code) is not None
        HolderEndpoint.objects.filter(organisation__slug=slug).update(active=False)
        fresh = holder_directory(policy_current().token)
        assert fresh.endpoint(slug, code) is None

    def test_through_the_api_the_token_read_with_the_access_token_decides_the_version(self, partner: Any) -> None:
        """The partner API reads the configuration token in the statement that resolves the access token
        (gateway.api.auth); the next request after a committed change is decided under the new version, and no
        request reads the token on its own."""
        from audit.models import AuditEntry

        client = partner("veilig-thuis-rr")
        body = {"subject": {"bsn": "999990019"}, "categories": ["police_incidents"], "purpose": "vt_safety_assessment"}
        client.post("/api/v1/decisions", body)  # the first builds the policy this process keeps
        with CaptureQueriesContext(connection) as queries:
            before = client.post("/api/v1/decisions", body)
        assert before.status_code == 200
        assert not [q for q in queries.captured_queries if "consent_configurationstate" in q["sql"].split("FROM", 1)[0]]
        assert sum("consent_configurationstate" in q["sql"] for q in queries.captured_queries) == 1
        rule = _rule()
        SharingRule.objects.filter(pk=rule.pk).update(holder_decides=not rule.holder_decides)
        after = client.post("/api/v1/decisions", body)
        assert after.status_code == 200
        versions = [AuditEntry.objects.get(index=r.json()["audit"]["index"]).policy_version for r in (before, after)]
        assert versions[1] != versions[0] and versions[1] == policy_current().version
