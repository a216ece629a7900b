"""The Merkle frontier moves into the head row (issue 12): the append reads it with the lock it takes anyway."""

from django.db import migrations, models


def fill(apps, schema_editor):
    head_model = apps.get_model("audit", "AuditHead")
    node_model = apps.get_model("audit", "TreeNode")
    head = head_model.objects.filter(pk=1).first()
    if head is None or not head.size:
        return
    frontier = {}
    for level in range(head.size.bit_length()):
        position = (head.size >> level) - 1
        if position >= 0:
            value = node_model.objects.filter(level=level, position=position).values_list("hash", flat=True).first()
            if value is None:
                raise RuntimeError(f"tree node {level}/{position} is missing: run audit_verify")
            frontier[str(level)] = value
    head_model.objects.filter(pk=1).update(frontier=frontier)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0010_law_entry_kinds"),
    ]

    operations = [
        migrations.AddField(
            model_name="audithead",
            name="frontier",
            field=models.JSONField(
                default=dict,
                help_text="The latest completed subtree hash per level ({level: hex}), what the next leaf combines "
                "with. Kept with the lock that orders appends, so an append needs no read of the tree.",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
