"""The holder directory changes the configuration token too (issue 12), so web processes can keep it."""

from django.db import migrations

from consent import configuration

TABLES = ("gateway_holderendpoint", "gateway_holderendpoint_categories")


def install(apps, schema_editor):
    configuration.install(schema_editor, TABLES)


def remove(apps, schema_editor):
    configuration.remove(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0007_urgent_lane_push_disclosures"),
        ("consent", "0008_configuration_token"),
    ]

    operations = [migrations.RunPython(install, remove)]
