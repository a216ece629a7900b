"""Three foreign-key indexes go, each covered by an index or constraint that starts with the same column: a
request's ``organisation_id`` (the index on organisation, created_at, id), a decision's ``request_id`` (the unique
constraint on request, position; with it its ``varchar_pattern_ops`` twin, which no query uses) and an idempotency
record's ``organisation_id`` (the unique constraint on organisation, endpoint, key). They only cost writes on the
hot path (issue 12; ``tests/gateway/test_inserts.py`` sweeps the tables it writes). The pattern twin of the
request's primary key goes too: no query looks a request up by ``LIKE``.

Only the indexes are dropped (``SeparateDatabaseAndState``): Django's own ``AlterField`` would also drop and re-add
the foreign keys, which validates every row under an exclusive lock. Reversed, the plain indexes come back; the
pattern twin (PostgreSQL only, for ``LIKE``) does not.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0001_initial"),
        ("gateway", "0009_request_news_pending"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="informationrequest",
                    name="organisation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="requests",
                        to="consent.organisation",
                    ),
                ),
                migrations.AlterField(
                    model_name="requestdecision",
                    name="request",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="decisions",
                        to="gateway.informationrequest",
                    ),
                ),
                migrations.AlterField(
                    model_name="idempotencyrecord",
                    name="organisation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="idempotency_records",
                        to="consent.organisation",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "gateway_informationrequest_organisation_id_bd637290"',
                    'CREATE INDEX IF NOT EXISTS "gateway_informationrequest_organisation_id_bd637290" '
                    'ON "gateway_informationrequest" ("organisation_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "gateway_requestdecision_request_id_1a2a721d"',
                    'CREATE INDEX IF NOT EXISTS "gateway_requestdecision_request_id_1a2a721d" '
                    'ON "gateway_requestdecision" ("request_id")',
                ),
                migrations.RunSQL('DROP INDEX IF EXISTS "gateway_requestdecision_request_id_1a2a721d_like"', ""),
                migrations.RunSQL('DROP INDEX IF EXISTS "gateway_informationrequest_id_2c28945c_like"', ""),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "gateway_idempotencyrecord_organisation_id_84482499"',
                    'CREATE INDEX IF NOT EXISTS "gateway_idempotencyrecord_organisation_id_84482499" '
                    'ON "gateway_idempotencyrecord" ("organisation_id")',
                ),
            ],
        ),
    ]
