# A delivery is claimed for one attempt with a lease instead of a row lock held across the POST.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gateway', '0005_entry_notice_from_portal'),
    ]

    operations = [
        migrations.AddField(
            model_name='webhookdelivery',
            name='claimed_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
