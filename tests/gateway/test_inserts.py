"""gateway.inserts: a request and its decisions in one statement, stored exactly as the ORM stores them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from consent.models import Organisation, PolicyVersion
from gateway.inserts import insert_together
from gateway.models import InformationRequest, RequestDecision

pytestmark = pytest.mark.django_db


def _request(pk: str) -> InformationRequest:
    return InformationRequest(
        id=pk,
        organisation=Organisation.objects.get(slug="veilig-thuis-rr"),
        client_id="client-ü",
        acting_user="",
        subject_bsn="999990019",
        subject_pseudonym="p" * 64,
        purpose="vt_safety_assessment",
        case_reference="",
        emergency=True,
        justification='A "quoted" justification\nwith a line break and ünïcode.',
        status="released",
        created_at=dt.datetime(2026, 12, 1, 19, 50, 35, 123000, tzinfo=dt.UTC),
        policy_version=PolicyVersion.objects.order_by("-number").first(),
        audit_index=2**40,
        audit_leaf_hash="a" * 64,
        news_pending=True,
    )


def _decisions(request: InformationRequest) -> list[RequestDecision]:
    return [
        RequestDecision(
            request=request,
            position=0,
            category="police_incidents",
            provider="politie-rr",
            outcome="permit",
            rule="r1",
            rule_version=3,
            legal_basis="wmo_5_2_6",
            legal_basis_reference="Wmo 2015 art. 5.2.6",
            consent_id=None,
            preauthorisation_id=7,
            reasons=[{"code": "rule", "message": "A 'rule' with \"quotes\" and null\u00e9", "nested": [1, None, True]}],
            emergency_access=False,
            shielded=False,
            released_fields=["date", "summary"],
            payload_sha256="b" * 64,
        ),
        RequestDecision(
            request=request,
            position=1,
            category="house_ban",
            provider=None,
            outcome="deny",
            reasons=[],
            shielded=True,
            released_fields=[],
        ),
    ]


def _stored(pk: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    request = InformationRequest.objects.get(pk=pk)
    decisions = [model_to_dict(d) for d in request.decisions.order_by("position")]
    for d in decisions:
        d.pop("id"), d.pop("request")
    values = model_to_dict(request)
    values.pop("id")
    return values, decisions


def test_one_statement_stores_what_the_orm_stores() -> None:
    with transaction.atomic():
        by_orm = _request("req_orm")
        by_orm.save(force_insert=True)
        RequestDecision.objects.bulk_create(_decisions(by_orm))
        together = _request("req_together")
        decisions = _decisions(together)
        with CaptureQueriesContext(connection) as queries:
            insert_together(together, decisions)
    assert _stored("req_together") == _stored("req_orm")
    assert _stored("req_together")[1][0]["reasons"][0]["nested"] == [1, None, True]
    if connection.vendor == "postgresql":
        assert len(queries.captured_queries) == 1
    # The generated keys are on the instances, in order, as bulk_create sets them.
    assert [d.pk for d in decisions] == list(
        RequestDecision.objects.filter(request_id="req_together").order_by("position").values_list("pk", flat=True)
    )
    assert all(not d._state.adding for d in [together, *decisions])


def test_without_children_only_the_row() -> None:
    with transaction.atomic():
        alone = _request("req_alone")
        insert_together(alone, [])
    assert InformationRequest.objects.filter(pk="req_alone").exists()
    assert not RequestDecision.objects.filter(request_id="req_alone").exists()


def test_a_child_of_an_unknown_row_fails_the_transaction() -> None:
    """The foreign key holds: a decision whose request does not exist is refused (at commit, as deferred)."""
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        parent = _request("req_parent")
        orphans = _decisions(parent)
        for orphan in orphans:
            orphan.request_id = "req_nobody"
        insert_together(parent, orphans)
        connection.check_constraints()
    assert not InformationRequest.objects.filter(pk="req_parent").exists()


# Written on every request, entry or retry: each index here costs a write on the hot path.
HOT_TABLES = (
    "audit_auditentry",
    "audit_treenode",
    "audit_auditfacet",
    "audit_audithead",
    "gateway_informationrequest",
    "gateway_requestdecision",
    "gateway_idempotencyrecord",
)


def test_no_index_on_a_hot_table_is_covered_by_another() -> None:
    """A plain index whose columns begin another index on the same table serves no query the other does not, and
    costs a write per row (Django adds one for every foreign key, even where a unique constraint starts with it).
    Unique ones stay (they constrain), and so do partial and expression ones; the ``LIKE`` twins Django adds to
    character keys (a non-default operator class) go, since nothing searches these tables by pattern."""
    if connection.vendor != "postgresql":
        pytest.skip("reads PostgreSQL's catalogue")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH idx AS (
                SELECT i.indrelid::regclass::text AS tbl, c.relname AS name, i.indisunique AS uniq,
                       i.indkey::text || ' ' AS cols, i.indpred IS NULL AND i.indexprs IS NULL AS plain,
                       (SELECT bool_and(o.opcdefault) FROM unnest(i.indclass::oid[]) k JOIN pg_opclass o ON o.oid = k)
                           AS default_ops
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            )
            SELECT a.tbl, a.name, b.name FROM idx a JOIN idx b ON a.tbl = b.tbl AND a.name <> b.name
            WHERE a.tbl = ANY(%s) AND NOT a.uniq AND a.plain AND a.default_ops AND b.plain AND b.default_ops
            AND starts_with(b.cols, a.cols)
            """,
            [list(HOT_TABLES)],
        )
        covered = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'audit_auditfacet'::regclass")
        (facet_indexes,) = cursor.fetchone()
        cursor.execute(
            """
            SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid::regclass::text = ANY(%s) AND EXISTS (
                SELECT 1 FROM unnest(i.indclass::oid[]) k JOIN pg_opclass o ON o.oid = k WHERE NOT o.opcdefault
            )
            """,
            [list(HOT_TABLES)],
        )
        patterns = cursor.fetchall()
    assert covered == []
    assert facet_indexes == 3  # the key, the unique (entry, key, value) and the search (key, value, entry)
    # Django's varchar_pattern_ops twins serve LIKE, which no query on these tables uses.
    assert patterns == []
