from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit trail: ledger, Merkle tree, checkpoints, and the anchoring of configuration changes."""

    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the configuration models with django-auditlog and anchor its entries in the trail."""
        from audit.config_trail import register_configuration_models

        register_configuration_models()
