# Consents keyed by the subject's BSN, givers as claims with their portal confirmation (issue "leaks", item 2).

import django.db.models.deletion
from django.db import migrations, models

import consent.bsn


def forwards(apps, schema_editor):
    """Fill the BSN keys from the linked persons. A consent recorded before confirmation existed was taken on the
    recorder's word: it now waits for the family's confirmation like any other (the safer reading), and so counts
    only for data its recorder holds itself, and elsewhere as the holder decides."""
    consent_model = apps.get_model("consent", "Consent")
    giver_model = apps.get_model("consent", "ConsentGiver")
    for consent in consent_model.objects.select_related("subject"):
        consent.subject_bsn = consent.subject.bsn
        if consent.status in ("active", "incomplete"):
            consent.status = "awaiting_confirmation"
        consent.save(update_fields=["subject_bsn", "status"])
    for giver in giver_model.objects.select_related("person"):
        giver.bsn = giver.person.bsn
        giver.save(update_fields=["bsn"])


def backwards(apps, schema_editor):
    """Only where every consent has a known subject and giver; a consent still waiting becomes ``incomplete``
    (it permits nothing), never ``active``."""
    consent_model = apps.get_model("consent", "Consent")
    giver_model = apps.get_model("consent", "ConsentGiver")
    if (
        consent_model.objects.filter(subject__isnull=True).exists()
        or giver_model.objects.filter(person__isnull=True).exists()
    ):
        raise RuntimeError("consents or givers for persons the gateway does not know cannot be migrated back")
    consent_model.objects.filter(status="awaiting_confirmation").update(status="incomplete")


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0005_field_reveals_whereabouts"),
    ]

    operations = [
        migrations.AddField(
            model_name="consent",
            name="subject_bsn",
            field=models.CharField(max_length=9, null=True),
        ),
        migrations.AddField(
            model_name="consentgiver",
            name="bsn",
            field=models.CharField(max_length=9, null=True),
        ),
        migrations.AlterField(
            model_name="consent",
            name="status",
            field=models.CharField(
                choices=[
                    ("awaiting_confirmation", "Awaiting confirmation by the family"),
                    ("active", "Active"),
                    ("incomplete", "Incomplete (no longer produced; rows migrated to awaiting confirmation)"),
                    ("withdrawn", "Withdrawn"),
                    ("expired", "Expired"),
                ],
                default="awaiting_confirmation",
                max_length=24,
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name="consent",
            name="subject_bsn",
            field=models.CharField(
                db_index=True,
                help_text="BSN of the person the consent is about.",
                max_length=9,
                validators=[consent.bsn.validate_bsn],
            ),
        ),
        migrations.AlterField(
            model_name="consentgiver",
            name="bsn",
            field=models.CharField(max_length=9, validators=[consent.bsn.validate_bsn]),
        ),
        migrations.AlterField(
            model_name="consent",
            name="subject",
            field=models.ForeignKey(
                blank=True,
                help_text="The person, when the gateway knew them at recording; subject_bsn is what counts.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="consents",
                to="consent.person",
            ),
        ),
        migrations.AlterField(
            model_name="consentgiver",
            name="person",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="consents_given",
                to="consent.person",
            ),
        ),
        migrations.AddField(
            model_name="consent",
            name="disputed_at",
            field=models.DateTimeField(
                blank=True,
                help_text="The person said in the portal that they did not give this consent.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="consentgiver",
            name="confirmed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="consentgiver",
            name="confirmed_by",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name="consentgiver",
            name="confirmed_capacity",
            field=models.CharField(
                blank=True,
                choices=[("self", "Self"), ("parent_with_custody", "Parent with custody"), ("guardian", "Guardian")],
                help_text="The capacity the confirmation counts in: the relation to the subject on the day of "
                "confirming.",
                max_length=24,
            ),
        ),
        migrations.AddField(
            model_name="consentgiver",
            name="added_in_portal",
            field=models.BooleanField(
                default=False,
                help_text="The person added themselves in the portal (not named by an organisation); never shown "
                "through the API, so that no organisation learns from it who else has custody.",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="consentgiver",
            name="uniq_consent_giver",
        ),
        migrations.AddConstraint(
            model_name="consentgiver",
            constraint=models.UniqueConstraint(fields=("consent", "bsn"), name="uniq_consent_giver_bsn"),
        ),
    ]
