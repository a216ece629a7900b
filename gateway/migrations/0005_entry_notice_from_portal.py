# The model EntryNotice moves from the portal to the gateway; its table was renamed in portal/0003.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0006_consent_keyed_by_bsn_givers_claims'),
        ('gateway', '0004_shielded_decisions_refused_items'),
        ('portal', '0003_entry_notice_to_gateway'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='EntryNotice',
                    fields=[
                        ('request', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='notice', serialize=False, to='gateway.informationrequest')),
                        ('cleared_at', models.DateTimeField(blank=True, null=True)),
                        ('postponed_until', models.DateField(blank=True, null=True)),
                        ('postponed_at', models.DateTimeField(blank=True, null=True)),
                        ('postpone_reason', models.TextField(blank=True, help_text='Why informing waits; kept here, never in the trail.')),
                        ('news_held', models.BooleanField(default=False)),
                        ('news_sent_at', models.DateTimeField(blank=True, null=True)),
                        ('cleared_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='consent.organisation')),
                        ('postponed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='consent.organisation')),
                    ],
                    options={
                        'indexes': [models.Index(fields=['news_held', 'news_sent_at'], name='portal_entr_news_he_0cbd3a_idx')],
                    },
                ),
            ],
        ),
        migrations.RenameIndex(
            model_name='entrynotice',
            new_name='gateway_ent_news_he_554ba9_idx',
            old_name='portal_entr_news_he_0cbd3a_idx',
        ),
    ]
