"""Audit entries are append-only: triggers refuse UPDATE, DELETE and TRUNCATE; the head row starts at 0."""

from django.db import migrations

from audit import immutability

TABLES = ("audit_auditentry",)


def install(apps, schema_editor):
    immutability.install(schema_editor, TABLES)
    apps.get_model("audit", "AuditHead").objects.get_or_create(pk=1, defaults={"size": 0})


def remove(apps, schema_editor):
    immutability.remove(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
