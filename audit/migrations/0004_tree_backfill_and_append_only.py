"""Fill the tree nodes for entries written before the tree existed; make every audit table append-only,
and django-auditlog's entries too (audit.md, "Immutability in the database")."""

from django.db import migrations

from audit import immutability, merkle

TABLES = ("audit_treenode", "audit_checkpoint", "audit_signingkeyrecord", "auditlog_logentry")


def backfill(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    TreeNode = apps.get_model("audit", "TreeNode")
    store = merkle.InMemoryStore()
    for level, position, value in TreeNode.objects.values_list("level", "position", "hash"):
        store.put(level, position, bytes.fromhex(value))
    new = []
    for index, leaf_hash in AuditEntry.objects.order_by("index").values_list("index", "leaf_hash").iterator():
        if (0, index) in store.nodes:
            continue
        for level, position, value in merkle.completed_subtrees(index, bytes.fromhex(leaf_hash), store):
            store.put(level, position, value)
            new.append(TreeNode(level=level, position=position, hash=value.hex()))
    TreeNode.objects.bulk_create(new, batch_size=1000)


def install(apps, schema_editor):
    immutability.install(schema_editor, TABLES)


def remove(apps, schema_editor):
    immutability.remove(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_tree_and_checkpoints"), ("auditlog", "0017_add_actor_email")]
    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(install, remove),
    ]
