"""The facet's own index on ``entry_index`` goes: the unique constraint (entry_index, key, value) starts with the same
column and serves every lookup by entry, so the index only cost a write per facet (issue 12). So does the
``varchar_pattern_ops`` twin Django adds to the unique ``leaf_hash`` (for ``LIKE``, which no query uses): a random
insertion into a second index of the trail's size for every entry.

Only the index is dropped (``SeparateDatabaseAndState``): Django's own ``AlterField`` would also drop and re-add the
foreign key, which validates every facet under an exclusive lock, minutes on a year's trail.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0011_head_frontier"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditfacet",
                    name="entry",
                    field=models.ForeignKey(
                        db_column="entry_index",
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="facets",
                        to="audit.auditentry",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "audit_auditfacet_entry_index_21de9c8f"',
                    'CREATE INDEX IF NOT EXISTS "audit_auditfacet_entry_index_21de9c8f" '
                    'ON "audit_auditfacet" ("entry_index")',
                ),
            ],
        ),
        # Not in Django's migration state (it never tracks these twins); reversed, it does not come back.
        migrations.RunSQL('DROP INDEX IF EXISTS "audit_auditentry_leaf_hash_9963958a_like"', ""),
    ]
