# The hold on informing a suspect belongs to the request record (gateway), which the partner edge clears; the
# portal only reads it. The table moves with the model: renamed here, taken into the gateway's state in
# gateway/0005.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0002_entry_notice'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name='entrynotice', table='gateway_entrynotice')],
            state_operations=[migrations.DeleteModel(name='EntryNotice')],
        ),
    ]
