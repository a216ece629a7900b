"""The configuration token (issue 12): every change to policy data sets a fresh one, so web processes can keep the
policy they built and check one value per request."""

import secrets

from django.db import migrations, models

from consent import configuration


def create_state(apps, schema_editor):
    apps.get_model("consent", "ConfigurationState").objects.create(pk=1, token=secrets.token_hex(16))


def install(apps, schema_editor):
    configuration.install(schema_editor, configuration.POLICY_TABLES)


def remove(apps, schema_editor):
    configuration.remove(schema_editor, configuration.POLICY_TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0007_law_weighing_preauthorisation_sector_authority"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConfigurationState",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("token", models.CharField(max_length=64)),
            ],
        ),
        migrations.RunPython(create_state, migrations.RunPython.noop),
        migrations.RunPython(install, remove),
    ]
