from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit trail: ledger, Merkle tree, checkpoints, and the anchoring of configuration changes."""

    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Anchor django-auditlog's entries in the trail; the apps above register their configuration models."""
        from audit.config_trail import connect_configuration_trail

        connect_configuration_trail()
